package dev.stepwise.cluster.kubelet;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * Reads a tar stream entry by entry: POSIX ustar with GNU long names ({@code L}, {@code K}) and pax
 * extended headers ({@code x}), base-256 numbers — what image builders write. Each entry's content
 * is read through {@link #content()} before the next {@link #next()}.
 */
final class TarReader {

  static final char REGULAR = '0';
  static final char HARD_LINK = '1';
  static final char SYMLINK = '2';
  static final char DIRECTORY = '5';

  private static final int BLOCK = 512;

  /** One entry: its name as written (relative, may start with "./"), type and metadata. */
  record Entry(
      String name, char type, int mode, long uid, long gid, long size, long mtime, String link) {}

  private final InputStream in;
  private final byte[] header = new byte[BLOCK];
  private long offset;
  private long remaining;
  private long padding;

  TarReader(InputStream in) {
    this.in = in;
  }

  /** Where the current entry's content starts, counted from the start of the stream. */
  long contentOffset() {
    return offset;
  }

  /** The next entry, or null at the end of the archive. */
  Entry next() throws IOException {
    skip(remaining + padding);
    remaining = 0;
    padding = 0;
    String longName = null;
    String longLink = null;
    Map<String, String> pax = Map.of();
    while (true) {
      if (!readHeader()) {
        return null;
      }
      var type = (char) header[156];
      var size = number(124, 12);
      if (type == 'L' || type == 'K' || type == 'x' || type == 'g') {
        var data = readAll(size);
        if (type == 'L') {
          longName = cString(data, 0, data.length);
        } else if (type == 'K') {
          longLink = cString(data, 0, data.length);
        } else if (type == 'x') {
          pax = paxRecords(data);
        }
        continue;
      }
      if (type == '\0') {
        type = REGULAR;
      }
      var name = longName != null ? longName : ustarName();
      var link = longLink != null ? longLink : cString(header, 157, 100);
      name = pax.getOrDefault("path", name);
      link = pax.getOrDefault("linkpath", link);
      if (pax.containsKey("size")) {
        size = Long.parseLong(pax.get("size"));
      }
      var uid = pax.containsKey("uid") ? Long.parseLong(pax.get("uid")) : number(108, 8);
      var gid = pax.containsKey("gid") ? Long.parseLong(pax.get("gid")) : number(116, 8);
      var mtime =
          pax.containsKey("mtime") ? (long) Double.parseDouble(pax.get("mtime")) : number(136, 12);
      var mode = (int) number(100, 8);
      var hasContent = type != SYMLINK && type != HARD_LINK && type != DIRECTORY;
      remaining = hasContent ? size : 0;
      padding = hasContent ? (BLOCK - size % BLOCK) % BLOCK : 0;
      return new Entry(name, type, mode, uid, gid, hasContent ? size : 0, mtime, link);
    }
  }

  /** The current entry's content; ends with the entry. */
  InputStream content() {
    return new InputStream() {
      @Override
      public int read() throws IOException {
        if (remaining <= 0) {
          return -1;
        }
        var b = in.read();
        if (b < 0) {
          throw new EOFException("tar entry is truncated");
        }
        remaining--;
        offset++;
        return b;
      }

      @Override
      public int read(byte[] buffer, int off, int len) throws IOException {
        if (remaining <= 0) {
          return -1;
        }
        var n = in.read(buffer, off, (int) Math.min(len, remaining));
        if (n < 0) {
          throw new EOFException("tar entry is truncated");
        }
        remaining -= n;
        offset += n;
        return n;
      }
    };
  }

  private boolean readHeader() throws IOException {
    var n = in.readNBytes(header, 0, BLOCK);
    offset += n;
    if (n == 0) {
      return false;
    }
    if (n < BLOCK) {
      throw new EOFException("tar header is truncated");
    }
    for (var b : header) {
      if (b != 0) {
        verifyChecksum();
        return true;
      }
    }
    return false; // the first of the two zero blocks that end an archive
  }

  private void verifyChecksum() throws IOException {
    long sum = 0;
    for (int i = 0; i < BLOCK; i++) {
      sum += (i >= 148 && i < 156) ? ' ' : (header[i] & 0xff);
    }
    if (sum != number(148, 8)) {
      throw new IOException("not a tar archive (bad header checksum at offset " + offset + ")");
    }
  }

  private byte[] readAll(long size) throws IOException {
    if (size > 1 << 20) {
      throw new IOException("tar extended header of " + size + " bytes");
    }
    var data = in.readNBytes((int) size);
    if (data.length < size) {
      throw new EOFException("tar extended header is truncated");
    }
    offset += size;
    skip((BLOCK - size % BLOCK) % BLOCK);
    return data;
  }

  private void skip(long n) throws IOException {
    if (n > 0) {
      in.skipNBytes(n);
      offset += n;
    }
  }

  private String ustarName() {
    var name = cString(header, 0, 100);
    // POSIX ustar keeps a path prefix at 345; GNU tar ("ustar  ") uses that area otherwise.
    var posix = header[257] == 'u' && header[262] == 0;
    var prefix = posix ? cString(header, 345, 155) : "";
    return prefix.isEmpty() ? name : prefix + "/" + name;
  }

  private long number(int start, int length) throws IOException {
    if ((header[start] & 0x80) != 0) { // base-256 (GNU), for values octal cannot hold
      long value = header[start] & 0x7f;
      for (int i = start + 1; i < start + length; i++) {
        value = (value << 8) | (header[i] & 0xff);
      }
      return value;
    }
    var end = start + length;
    var i = start;
    while (i < end && header[i] == ' ') {
      i++;
    }
    long value = 0;
    for (; i < end && header[i] != 0 && header[i] != ' '; i++) {
      var c = header[i];
      if (c < '0' || c > '7') {
        throw new IOException("bad octal number in tar header at offset " + offset);
      }
      value = value * 8 + (c - '0');
    }
    return value;
  }

  private static String cString(byte[] data, int start, int length) {
    var end = start;
    while (end < start + length && data[end] != 0) {
      end++;
    }
    return new String(data, start, end - start, StandardCharsets.UTF_8);
  }

  /** Records "LEN key=value\n" of a pax extended header. */
  private static Map<String, String> paxRecords(byte[] data) throws IOException {
    var records = new HashMap<String, String>();
    var i = 0;
    while (i < data.length) {
      var space = i;
      while (space < data.length && data[space] != ' ') {
        space++;
      }
      int length;
      try {
        length = Integer.parseInt(new String(data, i, space - i, StandardCharsets.US_ASCII));
      } catch (NumberFormatException e) {
        throw new IOException("bad pax record in tar archive", e);
      }
      if (length <= 0 || i + length > data.length) {
        throw new IOException("bad pax record length in tar archive");
      }
      var record = new String(data, space + 1, i + length - space - 2, StandardCharsets.UTF_8);
      var eq = record.indexOf('=');
      if (eq > 0) {
        records.put(record.substring(0, eq), record.substring(eq + 1));
      }
      i += length;
    }
    return records;
  }
}
