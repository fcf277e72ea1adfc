package dev.stepwise.operator.dependent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Quantity;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * Decides whether an existing object already has everything the operator wants on it.
 *
 * <p>Only the fields the operator sets count: defaults the API server or other controllers add (a
 * pod template's {@code terminationMessagePath}, a Service's {@code clusterIP}, extra labels) never
 * cause a write. Lists must have the desired length, so removing an argument or a volume is seen.
 * Status and server-owned metadata are ignored. Resource quantities compare by value: the API
 * server writes {@code cpu: 0.5} back as {@code 500m}, which must not look like a change.
 */
public final class DesiredStateMatcher {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Fields whose values are maps of resource name to quantity. */
  private static final Set<String> QUANTITY_MAPS = Set.of("requests", "limits");

  private DesiredStateMatcher() {}

  public static boolean matches(HasMetadata desired, HasMetadata actual) {
    var want = JSON.valueToTree(desired);
    var have = JSON.valueToTree(actual);
    for (Iterator<Map.Entry<String, JsonNode>> it = want.fields(); it.hasNext(); ) {
      var field = it.next();
      switch (field.getKey()) {
        case "status", "apiVersion", "kind" -> {}
        case "metadata" -> {
          if (!contains(field.getValue().path("labels"), have.at("/metadata/labels"))
              || !contains(
                  field.getValue().path("annotations"), have.at("/metadata/annotations"))) {
            return false;
          }
        }
        default -> {
          if (!contains(field.getValue(), have.path(field.getKey()))) {
            return false;
          }
        }
      }
    }
    return true;
  }

  /** True when every field set in {@code want} has the same value in {@code have}. */
  static boolean contains(JsonNode want, JsonNode have) {
    return contains(want, have, false);
  }

  private static boolean contains(JsonNode want, JsonNode have, boolean quantities) {
    if (want.isMissingNode() || want.isNull()) {
      return true;
    }
    if (want.isObject()) {
      if (want.isEmpty()) {
        return true; // the API server drops empty objects
      }
      if (!have.isObject()) {
        return false;
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = want.fields(); it.hasNext(); ) {
        var field = it.next();
        var quantityMap = quantities || QUANTITY_MAPS.contains(field.getKey());
        if (!contains(field.getValue(), have.path(field.getKey()), quantityMap)) {
          return false;
        }
      }
      return true;
    }
    if (quantities && want.isTextual() && have.isTextual()) {
      return sameQuantity(want.asText(), have.asText());
    }
    if (want.isArray()) {
      if (want.isEmpty()) {
        return have.isMissingNode() || have.isNull() || (have.isArray() && have.isEmpty());
      }
      if (!have.isArray() || have.size() != want.size()) {
        return false;
      }
      for (int i = 0; i < want.size(); i++) {
        if (!contains(want.get(i), have.get(i))) {
          return false;
        }
      }
      return true;
    }
    if (want.isNumber() && have.isNumber()) {
      return want.decimalValue().compareTo(have.decimalValue()) == 0;
    }
    return want.equals(have);
  }

  private static boolean sameQuantity(String want, String have) {
    if (want.equals(have)) {
      return true;
    }
    try {
      return Quantity.parse(want)
              .getNumericalAmount()
              .compareTo(Quantity.parse(have).getNumericalAmount())
          == 0;
    } catch (IllegalArgumentException notAQuantity) {
      return false;
    }
  }
}
