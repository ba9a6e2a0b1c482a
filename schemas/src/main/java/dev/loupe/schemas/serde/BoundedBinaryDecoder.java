package dev.loupe.schemas.serde;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.io.Decoder;
import org.apache.avro.util.Utf8;

/**
 * An Avro binary decoder over one byte array that refuses any length or block count larger than the bytes left,
 * before allocating anything. Avro's own {@code BinaryDecoder} allocates a declared string length first, so eight
 * hostile bytes could make it allocate a gigabyte; a Kafka topic is untrusted input. (Every array item and map entry
 * of our schemas takes at least one byte, so a count above the bytes left is always malformed.)
 */
final class BoundedBinaryDecoder extends Decoder {
    private final byte[] buf;
    private int pos;

    BoundedBinaryDecoder(byte[] bytes) {
        this.buf = bytes;
    }

    boolean isEnd() {
        return pos == buf.length;
    }

    private int remaining() {
        return buf.length - pos;
    }

    private int checkedLength(long length, String what) throws IOException {
        if (length < 0) {
            throw new AvroRuntimeException("negative " + what + " length " + length);
        }
        if (length > remaining()) {
            throw new EOFException(what + " of " + length + " bytes but only " + remaining() + " left");
        }
        return (int) length;
    }

    private long checkedCount(long count) throws IOException {
        if (Math.abs(count) > remaining()) {
            throw new EOFException("block of " + Math.abs(count) + " items but only " + remaining() + " bytes left");
        }
        return count;
    }

    private int readByte() throws IOException {
        if (pos >= buf.length) {
            throw new EOFException("end of record");
        }
        return buf[pos++] & 0xff;
    }

    @Override
    public void readNull() {}

    @Override
    public boolean readBoolean() throws IOException {
        int b = readByte();
        if (b > 1) {
            throw new AvroRuntimeException("invalid boolean byte " + b);
        }
        return b == 1;
    }

    @Override
    public int readInt() throws IOException {
        long value = readLong();
        if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
            throw new AvroRuntimeException("int out of range: " + value);
        }
        return (int) value;
    }

    @Override
    public long readLong() throws IOException {
        long raw = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            int b = readByte();
            raw |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                return (raw >>> 1) ^ -(raw & 1);
            }
        }
        throw new AvroRuntimeException("invalid varint: more than 10 bytes");
    }

    @Override
    public float readFloat() throws IOException {
        return Float.intBitsToFloat((int) readLittleEndian(4));
    }

    @Override
    public double readDouble() throws IOException {
        return Double.longBitsToDouble(readLittleEndian(8));
    }

    private long readLittleEndian(int n) throws IOException {
        checkedLength(n, "number");
        long v = 0;
        for (int i = 0; i < n; i++) {
            v |= (long) (buf[pos++] & 0xff) << (8 * i);
        }
        return v;
    }

    @Override
    public Utf8 readString(Utf8 old) throws IOException {
        int length = checkedLength(readLong(), "string");
        Utf8 result = old != null ? old : new Utf8();
        result.setByteLength(length);
        System.arraycopy(buf, pos, result.getBytes(), 0, length);
        pos += length;
        return result;
    }

    @Override
    public String readString() throws IOException {
        int length = checkedLength(readLong(), "string");
        String s = new String(buf, pos, length, StandardCharsets.UTF_8);
        pos += length;
        return s;
    }

    @Override
    public void skipString() throws IOException {
        pos += checkedLength(readLong(), "string");
    }

    @Override
    public ByteBuffer readBytes(ByteBuffer old) throws IOException {
        int length = checkedLength(readLong(), "bytes");
        ByteBuffer result = old != null && old.capacity() >= length ? old.clear() : ByteBuffer.allocate(length);
        result.put(buf, pos, length).flip();
        pos += length;
        return result;
    }

    @Override
    public void skipBytes() throws IOException {
        pos += checkedLength(readLong(), "bytes");
    }

    @Override
    public void readFixed(byte[] bytes, int start, int length) throws IOException {
        checkedLength(length, "fixed");
        System.arraycopy(buf, pos, bytes, start, length);
        pos += length;
    }

    @Override
    public void skipFixed(int length) throws IOException {
        pos += checkedLength(length, "fixed");
    }

    @Override
    public int readEnum() throws IOException {
        return readInt();
    }

    @Override
    public int readIndex() throws IOException {
        return readInt();
    }

    /** A block's item count; a negative count is followed by the block's size in bytes, which we do not need. */
    private long readItemCount() throws IOException {
        long count = checkedCount(readLong());
        if (count < 0) {
            readLong();
            count = -count;
        }
        return count;
    }

    /** Skips whole blocks that carry their byte size; returns the item count of the first block that does not. */
    private long skipItems() throws IOException {
        long count = checkedCount(readLong());
        while (count < 0) {
            pos += checkedLength(readLong(), "block");
            count = checkedCount(readLong());
        }
        return count;
    }

    @Override
    public long readArrayStart() throws IOException {
        return readItemCount();
    }

    @Override
    public long arrayNext() throws IOException {
        return readItemCount();
    }

    @Override
    public long skipArray() throws IOException {
        return skipItems();
    }

    @Override
    public long readMapStart() throws IOException {
        return readItemCount();
    }

    @Override
    public long mapNext() throws IOException {
        return readItemCount();
    }

    @Override
    public long skipMap() throws IOException {
        return skipItems();
    }
}
