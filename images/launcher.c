/*
 * The images' only executable besides java: runs the JVM with the options listed in
 * /opt/stepwise/java.args (one per line), the words of $JAVA_OPTS inserted before the first
 * "-jar" line, then this program's own arguments. It stands in for the shell script an image
 * with a shell would use, so that `command: ["stepwise"]` and the chart's JAVA_OPTS work in an
 * image that has no shell.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JAVA "/opt/java/bin/java"
#define ARGS_FILE "/opt/stepwise/java.args"
#define MAX_ARGS 4096

static char *args[MAX_ARGS];
static int count;

static void add(char *arg) {
  if (count >= MAX_ARGS - 1) {
    fprintf(stderr, "stepwise launcher: more than %d arguments\n", MAX_ARGS - 1);
    exit(126);
  }
  args[count++] = arg;
}

static void add_java_opts(void) {
  const char *opts = getenv("JAVA_OPTS");
  if (opts == NULL) return;
  char *copy = strdup(opts);
  if (copy == NULL) exit(126);
  for (char *word = strtok(copy, " \t\n"); word != NULL; word = strtok(NULL, " \t\n")) add(word);
}

int main(int argc, char **argv) {
  FILE *file = fopen(ARGS_FILE, "r");
  if (file == NULL) {
    fprintf(stderr, "stepwise launcher: cannot read %s: %s\n", ARGS_FILE, strerror(errno));
    return 126;
  }
  add(JAVA);
  int inserted = 0;
  char line[4096];
  while (fgets(line, sizeof line, file) != NULL) {
    line[strcspn(line, "\n")] = '\0';
    if (line[0] == '\0') continue;
    if (!inserted && strcmp(line, "-jar") == 0) {
      add_java_opts();
      inserted = 1;
    }
    char *arg = strdup(line);
    if (arg == NULL) return 126;
    add(arg);
  }
  fclose(file);
  if (!inserted) add_java_opts();
  for (int i = 1; i < argc; i++) add(argv[i]);
  args[count] = NULL;
  execv(JAVA, args);
  fprintf(stderr, "stepwise launcher: cannot run %s: %s\n", JAVA, strerror(errno));
  return 127;
}
