package dev.stepwise.runtime.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {

  @TempDir Path dir;

  private static TreeMap<String, Tensor> tensors() {
    torch.manual_seed(7);
    var map = new TreeMap<String, Tensor>();
    map.put("b.weight", torch.randn(3, 5));
    map.put("a.bias", torch.randn(4));
    map.put("c.ids", torch.tensor(new long[] {1, -2, 3}));
    return map;
  }

  private Path write(String name, TreeMap<String, Tensor> tensors) throws IOException {
    var file = dir.resolve(name);
    AtomicFiles.write(file, out -> Safetensors.write(out, tensors, Map.of("format", "pt")));
    return file;
  }

  @Test
  void roundTripsBitExactly() throws IOException {
    var original = tensors();
    var file = write("t.safetensors", original);
    var digest = AtomicFiles.sha256();
    var read = Safetensors.read(file, digest);
    assertEquals(original.keySet(), read.tensors().keySet());
    for (var name : original.keySet()) {
      assertTrue(original.get(name).equal(read.tensors().get(name)), name);
    }
    assertEquals(Map.of("format", "pt"), read.metadata());
    assertArrayEquals(
        AtomicFiles.sha256().digest(Files.readAllBytes(file)),
        digest.digest(),
        "read hashes every byte");
  }

  @Test
  void equalTensorsGiveIdenticalBytesInTheStandardLayout() throws IOException {
    var first = Files.readAllBytes(write("1.safetensors", tensors()));
    var second = Files.readAllBytes(write("2.safetensors", tensors()));
    assertArrayEquals(first, second);
    var headerLength = ByteBuffer.wrap(first).order(ByteOrder.LITTLE_ENDIAN).getLong();
    assertEquals(0, headerLength % 8, "header padded to 8 bytes");
    var header = new String(first, 8, (int) headerLength, StandardCharsets.UTF_8).strip();
    assertEquals(
        "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"a.bias\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
            + "\"b.weight\":{\"dtype\":\"F32\",\"shape\":[3,5],\"data_offsets\":[16,76]},"
            + "\"c.ids\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[76,100]}}",
        header);
    assertEquals(8 + headerLength + 100, first.length);
  }

  @Test
  void truncatedFilesAreRefused() throws IOException {
    var file = write("t.safetensors", tensors());
    var bytes = Files.readAllBytes(file);
    Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 4));
    assertThrows(IOException.class, () -> Safetensors.read(file, null));
  }
}
