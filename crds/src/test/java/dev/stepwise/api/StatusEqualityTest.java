package dev.stepwise.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.fabric8.kubernetes.api.model.Condition;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The status classes compare field by field (the operator writes a status only when it changed): a
 * field added without being compared would be dropped silently. Each field, set alone, must make
 * two otherwise equal objects differ.
 */
class StatusEqualityTest {

  @ParameterizedTest
  @ValueSource(
      classes = {
        TrainingRunStatus.class,
        CheckpointStatus.class,
        RunProgress.class,
        CheckpointMetrics.class
      })
  void everyFieldTakesPartInEquals(Class<?> type) throws Exception {
    for (var field : type.getDeclaredFields()) {
      if (Modifier.isStatic(field.getModifiers())) {
        continue;
      }
      var plain = type.getDeclaredConstructor().newInstance();
      var changed = type.getDeclaredConstructor().newInstance();
      field.setAccessible(true);
      field.set(changed, sample(field));
      assertNotEquals(plain, changed, type.getSimpleName() + "." + field.getName() + " in equals");
      field.set(plain, sample(field));
      assertEquals(plain, changed);
      assertEquals(plain.hashCode(), changed.hashCode(), field.getName() + " in hashCode");
    }
  }

  private static Object sample(Field field) {
    var type = field.getType();
    if (type == Long.class) {
      return 7L;
    } else if (type == Integer.class) {
      return 7;
    } else if (type == Double.class) {
      return 0.5;
    } else if (type == String.class) {
      return "x";
    } else if (type.isEnum()) {
      return type.getEnumConstants()[type.getEnumConstants().length - 1];
    } else if (type == List.class) {
      List<Object> list = new ArrayList<>();
      list.add(field.getName().equals("conditions") ? new Condition() : new ObservedPod());
      return list;
    } else if (type == Map.class) {
      return new TreeMap<>(Map.of("k", "v"));
    } else if (type == RunProgress.class) {
      var p = new RunProgress();
      p.setStep(1L);
      return p;
    } else if (type == CheckpointMetrics.class) {
      var m = new CheckpointMetrics();
      m.setLoss(1.0);
      return m;
    }
    throw new AssertionError("no sample value for " + field);
  }
}
