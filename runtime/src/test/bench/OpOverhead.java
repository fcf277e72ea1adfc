// The Java-side cost of one small libtorch op through the Bytedeco binding: 200,000 adds of two
// 64-element CPU tensors, 1,000 per PointerScope, five rounds, microseconds per op. Not compiled by
// the build; run as a single-file program after `mvn -pl crds,runtime package -DskipTests`:
//
//   java -cp "runtime/target/stepwise-runtime.jar:runtime/target/lib/*" runtime/src/test/bench/OpOverhead.java
//   java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp ... runtime/src/test/bench/OpOverhead.java
//
// The first runs with JavaCPP's default (the resident-size check at every native allocation), the
// second as the runtime's Main runs (check off).
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch;

public class OpOverhead {
  public static void main(String[] args) {
    var x = torch.ones(new long[] {1, 64});
    var y = torch.ones(new long[] {1, 64});
    System.out.println("maxPhysicalBytes=" + Pointer.maxPhysicalBytes());
    for (var round = 0; round < 5; round++) {
      var ops = 200_000;
      var start = System.nanoTime();
      for (var i = 0; i < ops / 1000; i++) {
        try (var scope = new PointerScope()) {
          for (var j = 0; j < 1000; j++) {
            x.add(y);
          }
        }
      }
      System.out.printf("%.2f us/op%n", (System.nanoTime() - start) / 1e3 / ops);
    }
  }
}
