/*
 * stepwise-container: how the local kubelet runs one container from an unpacked OCI image when
 * no container runtime can run on the machine (`./stepwise up --images`).
 *
 *   stepwise-container --rootfs DIR --upper DIR --work DIR --merged DIR [--read-only]
 *       --user UID --group GID [--groups GID,GID...] [--no-new-privs] --cwd DIR
 *       --hostname NAME [--bind SRC DST rw|ro]... -- COMMAND [ARG...]
 *
 * In new mount, pid, ipc and uts namespaces (the network stays the host's, as for the kubelet's
 * processes): an overlay of the image's root DIR with a writable layer of the pod (UPPER, WORK),
 * mounted at MERGED and made the root; /proc, /sys (read-only), a small /dev, the pod's volumes
 * bind-mounted at their paths; the root remounted read-only with --read-only. COMMAND then runs as
 * UID:GID (which drops every capability unless UID is 0) with this process's environment, which
 * is the container's.
 *
 * Processes: this one (in the kubelet's pid namespace) -> an init (pid 1 of the container, like
 * `docker run --init`) -> COMMAND (pid 2, so that it gets the default signal actions a process
 * of the host gets). SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH sent to this
 * process are passed to COMMAND; this process exits with COMMAND's status (128 + the signal when
 * a signal ended it), so the kubelet sees what it sees of a host process. When this process dies
 * (SIGKILL), the init and with it the whole container are killed.
 *
 * Exit codes of its own: 128 when the container could not be set up (a runtime's StartError),
 * 127 when COMMAND cannot be executed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define SETUP_FAILED 128
#define EXEC_FAILED 127
#define MAX_BINDS 256
#define MAX_GROUPS 64

struct bind {
  const char *source;
  const char *target;
  int read_only;
  int fd;
};

static const char *rootfs, *upper, *work, *merged, *cwd = "/", *hostname;
static int read_only, no_new_privs;
static uid_t uid;
static gid_t gid;
static gid_t groups[MAX_GROUPS];
static size_t group_count;
static struct bind binds[MAX_BINDS];
static size_t bind_count;
static char **command;

static const int FORWARDED[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
static const char *DEVICES[] = {"null", "zero", "full", "random", "urandom", "tty"};
#define DEVICE_COUNT (sizeof DEVICES / sizeof DEVICES[0])
static int device_fds[DEVICE_COUNT];

static void die(int code, const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("stepwise-container: ", stderr);
  vfprintf(stderr, format, args);
  va_end(args);
  fputc('\n', stderr);
  _exit(code);
}

static void usage(const char *why) {
  die(SETUP_FAILED,
      "%s\nusage: stepwise-container --rootfs DIR --upper DIR --work DIR --merged DIR"
      " [--read-only] --user UID --group GID [--groups G,G...] [--no-new-privs] --cwd DIR"
      " --hostname NAME [--bind SRC DST rw|ro]... -- COMMAND [ARG...]",
      why);
}

static unsigned long number(const char *text, const char *what) {
  char *end;
  errno = 0;
  unsigned long value = strtoul(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') usage(what);
  return value;
}

static void parse(int argc, char **argv) {
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    const int more = argc - i - 1;
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    } else if (strcmp(a, "--read-only") == 0) {
      read_only = 1;
    } else if (strcmp(a, "--no-new-privs") == 0) {
      no_new_privs = 1;
    } else if (strcmp(a, "--bind") == 0 && more >= 3) {
      if (bind_count == MAX_BINDS) usage("too many --bind");
      struct bind *b = &binds[bind_count++];
      b->source = argv[++i];
      b->target = argv[++i];
      const char *mode = argv[++i];
      if (strcmp(mode, "ro") != 0 && strcmp(mode, "rw") != 0) usage("--bind mode is rw or ro");
      b->read_only = strcmp(mode, "ro") == 0;
      if (b->target[0] != '/') usage("a --bind target must be absolute");
    } else if (more < 1) {
      usage("an option lacks its value");
    } else if (strcmp(a, "--rootfs") == 0) {
      rootfs = argv[++i];
    } else if (strcmp(a, "--upper") == 0) {
      upper = argv[++i];
    } else if (strcmp(a, "--work") == 0) {
      work = argv[++i];
    } else if (strcmp(a, "--merged") == 0) {
      merged = argv[++i];
    } else if (strcmp(a, "--cwd") == 0) {
      cwd = argv[++i];
    } else if (strcmp(a, "--hostname") == 0) {
      hostname = argv[++i];
    } else if (strcmp(a, "--user") == 0) {
      uid = (uid_t)number(argv[++i], "--user is a number");
    } else if (strcmp(a, "--group") == 0) {
      gid = (gid_t)number(argv[++i], "--group is a number");
    } else if (strcmp(a, "--groups") == 0) {
      char *list = strdup(argv[++i]);
      for (char *g = strtok(list, ","); g != NULL; g = strtok(NULL, ",")) {
        if (group_count == MAX_GROUPS) usage("too many --groups");
        groups[group_count++] = (gid_t)number(g, "--groups are numbers");
      }
    } else {
      usage("unknown option");
    }
  }
  if (!rootfs || !upper || !work || !merged || !hostname) usage("a required option is missing");
  if (cwd[0] != '/') usage("--cwd must be absolute");
  if (i >= argc) usage("no COMMAND");
  command = argv + i;
}

/* mkdir -p of an absolute path (inside the new root). */
static void make_dirs(const char *path) {
  char buffer[4096];
  if (strlen(path) >= sizeof buffer) die(SETUP_FAILED, "path too long: %s", path);
  strcpy(buffer, path);
  for (char *p = buffer + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      const char saved = *p;
      *p = '\0';
      if (mkdir(buffer, 0755) != 0 && errno != EEXIST)
        die(SETUP_FAILED, "mkdir %s: %s", buffer, strerror(errno));
      *p = saved;
      if (saved == '\0') break;
    }
  }
}

/* An empty file at path (inside the new root) to mount a file onto. */
static void make_file(const char *path) {
  char parent[4096];
  if (strlen(path) >= sizeof parent) die(SETUP_FAILED, "path too long: %s", path);
  strcpy(parent, path);
  char *slash = strrchr(parent, '/');
  if (slash != NULL && slash != parent) {
    *slash = '\0';
    make_dirs(parent);
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 && errno != EISDIR) die(SETUP_FAILED, "create %s: %s", path, strerror(errno));
  if (fd >= 0) close(fd);
}

static void do_mount(const char *source, const char *target, const char *type,
                     unsigned long flags, const char *data) {
  if (mount(source, target, type, flags, data) != 0)
    die(SETUP_FAILED, "mount %s on %s%s%s: %s", source ? source : "(remount)", target,
        data ? " with " : "", data ? data : "", strerror(errno));
}

/* Binds the open file or directory fd at target (inside the new root). */
static void bind_fd(int fd, const char *what, const char *target, int ro) {
  struct stat st;
  if (fstat(fd, &st) != 0) die(SETUP_FAILED, "stat %s: %s", what, strerror(errno));
  if (S_ISDIR(st.st_mode)) {
    make_dirs(target);
  } else {
    make_file(target);
  }
  char source[64];
  snprintf(source, sizeof source, "/proc/self/fd/%d", fd);
  do_mount(source, target, NULL, MS_BIND | MS_REC, NULL);
  if (ro) do_mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL);
}

/* In the new namespaces, still the host's root: builds the container's file system. */
static void set_up_root(void) {
  do_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  /* Opened before the root changes, bound after: a target is then resolved inside the new
     root, so no symlink of the image can point a mount at the host's files. */
  for (size_t i = 0; i < DEVICE_COUNT; i++) {
    char path[32];
    snprintf(path, sizeof path, "/dev/%s", DEVICES[i]);
    device_fds[i] = open(path, O_PATH | O_CLOEXEC);
    if (device_fds[i] < 0) die(SETUP_FAILED, "open %s: %s", path, strerror(errno));
  }
  for (size_t i = 0; i < bind_count; i++) {
    binds[i].fd = open(binds[i].source, O_PATH | O_CLOEXEC);
    if (binds[i].fd < 0) die(SETUP_FAILED, "open %s: %s", binds[i].source, strerror(errno));
  }
  char options[3 * 4096 + 64];
  int n = snprintf(options, sizeof options, "lowerdir=%s,upperdir=%s,workdir=%s", rootfs, upper,
                   work);
  if (n < 0 || (size_t)n >= sizeof options) die(SETUP_FAILED, "overlay options too long");
  do_mount("overlay", merged, "overlay", 0, options);
  if (chdir(merged) != 0 || chroot(".") != 0 || chdir("/") != 0)
    die(SETUP_FAILED, "chroot %s: %s", merged, strerror(errno));

  make_dirs("/proc");
  do_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  make_dirs("/sys");
  do_mount("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  make_dirs("/dev");
  do_mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
  for (size_t i = 0; i < DEVICE_COUNT; i++) {
    char path[32];
    snprintf(path, sizeof path, "/dev/%s", DEVICES[i]);
    bind_fd(device_fds[i], path, path, 0);
    close(device_fds[i]);
  }
  make_dirs("/dev/shm");
  do_mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
  const char *links[][2] = {{"/proc/self/fd", "/dev/fd"},
                            {"/proc/self/fd/0", "/dev/stdin"},
                            {"/proc/self/fd/1", "/dev/stdout"},
                            {"/proc/self/fd/2", "/dev/stderr"}};
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
    if (symlink(links[i][0], links[i][1]) != 0)
      die(SETUP_FAILED, "symlink %s: %s", links[i][1], strerror(errno));
  }
  for (size_t i = 0; i < bind_count; i++) {
    bind_fd(binds[i].fd, binds[i].source, binds[i].target, binds[i].read_only);
    close(binds[i].fd);
  }
  make_dirs(cwd);
  if (read_only) do_mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
  if (sethostname(hostname, strlen(hostname)) != 0)
    die(SETUP_FAILED, "sethostname %s: %s", hostname, strerror(errno));
}

static void ignore(int signal) { (void)signal; }

/* The signals this process and the init pass on, blocked (and taken with sigwaitinfo). */
static sigset_t forwarded_and_child(void) {
  sigset_t set;
  sigemptyset(&set);
  for (size_t i = 0; i < sizeof FORWARDED / sizeof FORWARDED[0]; i++) {
    sigaddset(&set, FORWARDED[i]);
    /* A handler, so the kernel delivers them to a pid namespace's init (it drops signals an
       init leaves at their default action). */
    signal(FORWARDED[i], ignore);
  }
  sigaddset(&set, SIGCHLD);
  return set;
}

static int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return SETUP_FAILED;
}

/* Passes the forwarded signals to child until it ends; returns its exit code. With reap_all,
   every other child is reaped too (the container's init adopts orphans). */
static int supervise(pid_t child, const sigset_t *set, int reap_all) {
  for (;;) {
    siginfo_t info;
    const int sig = sigwaitinfo(set, &info);
    if (sig < 0) {
      if (errno == EINTR) continue;
      die(SETUP_FAILED, "sigwaitinfo: %s", strerror(errno));
    }
    if (sig != SIGCHLD) {
      kill(child, sig);
      continue;
    }
    for (;;) {
      int status;
      const pid_t done = waitpid(reap_all ? -1 : child, &status, WNOHANG);
      if (done <= 0) break;
      if (done == child) return exit_code(status);
    }
  }
}

static void run_command(const sigset_t *original) {
  if (sigprocmask(SIG_SETMASK, original, NULL) != 0) die(EXEC_FAILED, "sigprocmask");
  for (size_t i = 0; i < sizeof FORWARDED / sizeof FORWARDED[0]; i++) signal(FORWARDED[i], SIG_DFL);
  if (setgroups(group_count, groups) != 0) die(SETUP_FAILED, "setgroups: %s", strerror(errno));
  if (setgid(gid) != 0) die(SETUP_FAILED, "setgid %u: %s", gid, strerror(errno));
  /* From root to another user: the kernel clears every capability. */
  if (setuid(uid) != 0) die(SETUP_FAILED, "setuid %u: %s", uid, strerror(errno));
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) die(SETUP_FAILED, "PR_SET_PDEATHSIG");
  if (no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    die(SETUP_FAILED, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
  if (chdir(cwd) != 0) die(SETUP_FAILED, "chdir %s: %s", cwd, strerror(errno));
  execvp(command[0], command);
  die(EXEC_FAILED, "exec %s: %s", command[0], strerror(errno));
}

int main(int argc, char **argv) {
  parse(argc, argv);
  sigset_t original;
  const sigset_t set = forwarded_and_child();
  if (sigprocmask(SIG_BLOCK, &set, &original) != 0) die(SETUP_FAILED, "sigprocmask");
  if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS) != 0)
    die(SETUP_FAILED, "unshare (needs root): %s", strerror(errno));
  const pid_t init = fork();
  if (init < 0) die(SETUP_FAILED, "fork: %s", strerror(errno));
  if (init > 0) _exit(supervise(init, &set, 0));

  /* pid 1 of the container. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) die(SETUP_FAILED, "PR_SET_PDEATHSIG");
  set_up_root();
  const pid_t main_process = fork();
  if (main_process < 0) die(SETUP_FAILED, "fork: %s", strerror(errno));
  if (main_process == 0) run_command(&original);
  _exit(supervise(main_process, &set, 1));
}
