package dev.stepwise.runtime.checkpoint;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Reads and writes the <a href="https://github.com/huggingface/safetensors">safetensors</a> format
 * (8-byte little-endian header length, JSON header, raw little-endian tensor bytes), so Python's
 * {@code safetensors} and PyTorch load our checkpoints. Names are sorted and the header holds
 * nothing time- or address-dependent, so equal tensors give byte-identical files.
 */
public final class Safetensors {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String METADATA = "__metadata__";

  /** Tensors (in file order) and the string metadata of a file. */
  public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {}

  private Safetensors() {}

  /** Writes CPU tensors; the caller keeps them alive and unchanged until this returns. */
  public static void write(
      WritableByteChannel out, SortedMap<String, Tensor> tensors, Map<String, String> metadata)
      throws IOException {
    var header = new TreeMap<String, Object>();
    if (!metadata.isEmpty()) {
      header.put(METADATA, new TreeMap<>(metadata));
    }
    var buffers = new ArrayList<ByteBuffer>();
    long offset = 0;
    for (var e : tensors.entrySet()) {
      var t = e.getValue();
      if (t.is_cuda() || !t.is_contiguous()) {
        throw new IllegalArgumentException(e.getKey() + ": tensor must be contiguous and on CPU");
      }
      var nbytes = t.nbytes();
      var entry = new LinkedHashMap<String, Object>();
      entry.put("dtype", dtypeName(t.scalar_type().intern(), e.getKey()));
      entry.put("shape", t.sizes().vec().get());
      entry.put("data_offsets", List.of(offset, offset + nbytes));
      header.put(e.getKey(), entry);
      buffers.add(bytes(t));
      offset += nbytes;
    }
    var json = JSON.writeValueAsBytes(header);
    var padded = (json.length + 7) / 8 * 8;
    var head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
    head.putLong(padded).put(json);
    while (head.hasRemaining()) {
      head.put((byte) ' ');
    }
    head.flip();
    AtomicFiles.writeFully(out, head);
    for (var buffer : buffers) {
      AtomicFiles.writeFully(out, buffer);
    }
  }

  /** Reads a file into new CPU tensors, feeding every byte read to {@code digest} if given. */
  public static Contents read(Path file, MessageDigest digest) throws IOException {
    return read(file, digest == null ? null : Checksum.of(digest), Map.of());
  }

  /**
   * Reads a file, feeding every byte read to {@code digest} if given. A tensor whose name is in
   * {@code targets} with the same dtype and shape, contiguous and on the CPU, is read straight into
   * that tensor's memory (and the result maps the name to it); any other into a new CPU tensor.
   */
  public static Contents read(Path file, Checksum.Digest digest, Map<String, Tensor> targets)
      throws IOException {
    try (var channel = FileChannel.open(file, StandardOpenOption.READ)) {
      var size = channel.size();
      var lengthBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(channel, lengthBuf, file);
      var headerLength = lengthBuf.flip().getLong();
      if (headerLength < 2 || headerLength > Math.min(size - 8, 100_000_000)) {
        throw new IOException(
            file + ": not a safetensors file (header length " + headerLength + ")");
      }
      var headerBuf = ByteBuffer.allocate((int) headerLength);
      readFully(channel, headerBuf, file);
      update(digest, lengthBuf.rewind());
      update(digest, headerBuf.flip());
      Map<String, Object> header =
          JSON.readValue(
              StandardCharsets.UTF_8.decode(headerBuf.rewind()).toString(),
              new TypeReference<LinkedHashMap<String, Object>>() {});
      var metadata = new LinkedHashMap<String, String>();
      var specs = new ArrayList<Object[]>();
      for (var e : header.entrySet()) {
        if (e.getKey().equals(METADATA)) {
          @SuppressWarnings("unchecked")
          var m = (Map<String, Object>) e.getValue();
          m.forEach((k, v) -> metadata.put(k, String.valueOf(v)));
          continue;
        }
        @SuppressWarnings("unchecked")
        var spec = (Map<String, Object>) e.getValue();
        @SuppressWarnings("unchecked")
        var offsets = (List<Number>) spec.get("data_offsets");
        specs.add(new Object[] {e.getKey(), spec, offsets.get(0).longValue()});
      }
      specs.sort(Comparator.comparingLong(s -> (Long) s[2]));
      var dataStart = 8 + headerLength;
      var tensors = new LinkedHashMap<String, Tensor>();
      long expected = 0;
      for (var s : specs) {
        var name = (String) s[0];
        @SuppressWarnings("unchecked")
        var spec = (Map<String, Object>) s[1];
        @SuppressWarnings("unchecked")
        var offsets = (List<Number>) spec.get("data_offsets");
        @SuppressWarnings("unchecked")
        var shapeList = (List<Number>) spec.get("shape");
        var shape = shapeList.stream().mapToLong(Number::longValue).toArray();
        var type = scalarType((String) spec.get("dtype"), name);
        var begin = offsets.get(0).longValue();
        var end = offsets.get(1).longValue();
        if (begin != expected || end < begin || dataStart + end > size) {
          throw new IOException(file + ": tensor " + name + " has bad data offsets");
        }
        var t = readsInto(targets.get(name), type, shape);
        if (t == null) {
          t = torch.empty(shape, new TensorOptions(type), new MemoryFormatOptional());
        }
        if (t.nbytes() != end - begin) {
          throw new IOException(file + ": tensor " + name + " size does not match its shape");
        }
        channel.position(dataStart + begin);
        readChecked(channel, bytes(t), digest, file);
        tensors.put(name, t);
        expected = end;
      }
      if (dataStart + expected != size) {
        throw new IOException(file + ": trailing bytes after the last tensor");
      }
      return new Contents(tensors, metadata);
    }
  }

  /** {@code target} if the file's tensor can be read straight into it, else null. */
  private static Tensor readsInto(Tensor target, ScalarType type, long[] shape) {
    if (target == null
        || target.is_cuda()
        || !target.is_contiguous()
        || target.scalar_type().intern() != type
        || !java.util.Arrays.equals(target.sizes().vec().get(), shape)) {
      return null;
    }
    return target;
  }

  /** Fills {@code buffer} slice by slice, checksumming each slice while it is in the cache. */
  private static void readChecked(
      FileChannel channel, ByteBuffer buffer, Checksum.Digest digest, Path file)
      throws IOException {
    while (buffer.hasRemaining()) {
      var slice = buffer.slice();
      slice.limit(Math.min(slice.remaining(), AtomicFiles.SLICE_BYTES));
      readFully(channel, slice, file);
      update(digest, slice.flip());
      buffer.position(buffer.position() + slice.limit());
    }
  }

  private static void update(Checksum.Digest digest, ByteBuffer buffer) {
    if (digest != null) {
      digest.update(buffer);
    }
  }

  private static void readFully(FileChannel channel, ByteBuffer buffer, Path file)
      throws IOException {
    while (buffer.hasRemaining()) {
      if (channel.read(buffer) < 0) {
        throw new IOException(file + ": truncated");
      }
    }
  }

  /** A view of a CPU tensor's bytes (valid while the tensor lives). */
  static ByteBuffer bytes(Tensor t) {
    var n = t.nbytes();
    if (n == 0) {
      return ByteBuffer.allocate(0);
    }
    var pointer = new BytePointer(t.data_ptr());
    pointer.capacity(n).limit(n);
    return pointer.asByteBuffer();
  }

  static String dtypeName(ScalarType type, String name) {
    return switch (type) {
      case Float -> "F32";
      case Double -> "F64";
      case Half -> "F16";
      case BFloat16 -> "BF16";
      case Long -> "I64";
      case Int -> "I32";
      case Short -> "I16";
      case Char -> "I8";
      case Byte -> "U8";
      case Bool -> "BOOL";
      default -> throw new IllegalArgumentException(name + ": unsupported dtype " + type);
    };
  }

  static ScalarType scalarType(String dtype, String name) throws IOException {
    return switch (dtype) {
      case "F32" -> ScalarType.Float;
      case "F64" -> ScalarType.Double;
      case "F16" -> ScalarType.Half;
      case "BF16" -> ScalarType.BFloat16;
      case "I64" -> ScalarType.Long;
      case "I32" -> ScalarType.Int;
      case "I16" -> ScalarType.Short;
      case "I8" -> ScalarType.Char;
      case "U8" -> ScalarType.Byte;
      case "BOOL" -> ScalarType.Bool;
      default -> throw new IOException(name + ": unsupported dtype " + dtype);
    };
  }
}
