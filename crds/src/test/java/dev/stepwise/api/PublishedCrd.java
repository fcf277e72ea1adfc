package dev.stepwise.api;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The CRD as the chart publishes it: the generator's output with the printer columns put back in
 * the order they are declared on the kind (Fabric8's generator sorts them by JSON path, which would
 * make {@code kubectl get} show Age first).
 */
final class PublishedCrd {

  private static final String COLUMNS_KEY = "- additionalPrinterColumns:";
  private static final String COLUMN_ITEM = "- jsonPath: ";

  private PublishedCrd() {}

  static String of(String generatedYaml, Class<?> kind) {
    var declared =
        List.of(kind.getAnnotationsByType(AdditionalPrinterColumn.class)).stream()
            .map(AdditionalPrinterColumn::jsonPath)
            .toList();
    var lines = generatedYaml.lines().toList();
    var out = new ArrayList<String>();
    int i = 0;
    while (i < lines.size()) {
      var line = lines.get(i);
      out.add(line);
      i++;
      if (!line.trim().equals(COLUMNS_KEY)) {
        continue;
      }
      var itemIndent = line.indexOf('-') + 2;
      var items = new ArrayList<List<String>>();
      while (i < lines.size() && startsItem(lines.get(i), itemIndent)) {
        var item = new ArrayList<String>();
        item.add(lines.get(i++));
        while (i < lines.size() && indentOf(lines.get(i)) > itemIndent) {
          item.add(lines.get(i++));
        }
        items.add(item);
      }
      items.sort(Comparator.comparingInt(item -> rank(declared, item.get(0))));
      items.forEach(out::addAll);
    }
    return String.join("\n", out) + (generatedYaml.endsWith("\n") ? "\n" : "");
  }

  private static boolean startsItem(String line, int indent) {
    return indentOf(line) == indent && line.trim().startsWith(COLUMN_ITEM);
  }

  private static int rank(List<String> declared, String firstLine) {
    var path = firstLine.trim().substring(COLUMN_ITEM.length()).replace("\"", "");
    var index = declared.indexOf(path);
    return index < 0 ? Integer.MAX_VALUE : index;
  }

  private static int indentOf(String line) {
    var n = 0;
    while (n < line.length() && line.charAt(n) == ' ') {
      n++;
    }
    return n;
  }
}
