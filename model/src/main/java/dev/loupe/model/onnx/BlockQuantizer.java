package dev.loupe.model.onnx;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Symmetric block quantization of a weight's rows, streamed: each row of a [rows, cols] weight is cut into blocks of
 * {@code blockSize} values; a block's scale is max|w| / qmax (qmax = 2^(bits-1) - 1) and a value's code is
 * round(w / scale) clamped to [-qmax-1, qmax]. Two passes over the weight (one for the scales, one for the codes)
 * keep only a chunk of rows in memory. Codes are stored either unsigned with the offset 2^(bits-1) and packed
 * low bits first ({@code MatMulNBits}' B, whose default zero point is that offset; the last block of a row is padded
 * with the offset, i.e. zeros) or as signed int8 (embedding tables).
 */
final class BlockQuantizer {
    private static final int CHUNK_VALUES = 1 << 20;

    private final Weight rowsByCols;
    private final long rows;
    private final long cols;
    private final int bits;
    private final int blockSize;
    private final long blocksPerRow;

    /** @param rowsByCols a 2-D weight [rows, cols], quantized along cols */
    BlockQuantizer(Weight rowsByCols, int bits, int blockSize) {
        long[] d = rowsByCols.dims();
        if (d.length != 2) {
            throw new IllegalArgumentException("block quantization needs a 2-D weight, got " + java.util.Arrays.toString(d));
        }
        if (bits != 4 && bits != 8) {
            throw new IllegalArgumentException("bits must be 4 or 8, got " + bits);
        }
        this.rowsByCols = rowsByCols;
        this.rows = d[0];
        this.cols = d[1];
        this.bits = bits;
        this.blockSize = blockSize;
        this.blocksPerRow = (cols + blockSize - 1) / blockSize;
    }

    long blocksPerRow() {
        return blocksPerRow;
    }

    private int qmax() {
        return (1 << (bits - 1)) - 1;
    }

    /** The scales, float32 [rows, blocksPerRow]. */
    StoredTensor scales(String name) {
        long count = rows * blocksPerRow;
        return new StoredTensor(name, DataType.FLOAT, new long[] {rows, blocksPerRow}, count * 4, sink -> {
            ByteBuffer out = ByteBuffer.allocate((int) Math.min(count, CHUNK_VALUES) * 4).order(ByteOrder.LITTLE_ENDIAN);
            forEachRow((row, values) -> {
                for (long b = 0; b < blocksPerRow; b++) {
                    if (out.remaining() < 4) {
                        flush(out, sink);
                    }
                    out.putFloat(scale(values, b));
                }
            });
            flush(out, sink);
        });
    }

    /** {@code MatMulNBits}' B: uint8 [rows, blocksPerRow, blockSize * bits / 8], offset codes packed low first. */
    StoredTensor packedCodes(String name) {
        int blob = blockSize * bits / 8;
        long count = rows * blocksPerRow * blob;
        int offset = 1 << (bits - 1);
        return new StoredTensor(name, DataType.UINT8, new long[] {rows, blocksPerRow, blob}, count, sink -> {
            ByteBuffer out = ByteBuffer.allocate((int) Math.min(count, CHUNK_VALUES));
            byte[] rowBytes = new byte[Math.toIntExact(blocksPerRow * blob)];
            forEachRow((row, values) -> {
                java.util.Arrays.fill(rowBytes, (byte) 0);
                for (long b = 0; b < blocksPerRow; b++) {
                    float scale = scale(values, b);
                    for (int i = 0; i < blockSize; i++) {
                        long c = b * blockSize + i;
                        int code = (c < cols ? code(values[(int) c], scale) : 0) + offset;
                        int at = (int) (b * blob) + (bits == 8 ? i : i / 2);
                        if (bits == 8) {
                            rowBytes[at] = (byte) code;
                        } else {
                            rowBytes[at] |= (byte) ((i % 2 == 0) ? code : code << 4);
                        }
                    }
                }
                for (int i = 0; i < rowBytes.length; ) {
                    if (!out.hasRemaining()) {
                        flush(out, sink);
                    }
                    int n = Math.min(out.remaining(), rowBytes.length - i);
                    out.put(rowBytes, i, n);
                    i += n;
                }
            });
            flush(out, sink);
        });
    }

    /** Signed int8 codes [rows, cols] (8 bits only), e.g. an embedding table gathered by row. */
    StoredTensor signedCodes(String name) {
        if (bits != 8) {
            throw new IllegalStateException("signed codes are int8");
        }
        long count = rows * cols;
        return new StoredTensor(name, DataType.INT8, new long[] {rows, cols}, count, sink -> {
            ByteBuffer out = ByteBuffer.allocate((int) Math.min(count, CHUNK_VALUES));
            forEachRow((row, values) -> {
                for (long b = 0; b < blocksPerRow; b++) {
                    float scale = scale(values, b);
                    long end = Math.min(cols, (b + 1) * blockSize);
                    for (long c = b * blockSize; c < end; c++) {
                        if (!out.hasRemaining()) {
                            flush(out, sink);
                        }
                        out.put((byte) code(values[(int) c], scale));
                    }
                }
            });
            flush(out, sink);
        });
    }

    /** Dequantized values of one row as the kernels see them (for tests and error estimates). */
    float[] dequantizedRow(long row) {
        float[] values = new float[Math.toIntExact(cols)];
        rowsByCols.read(row * cols, values, 0, values.length);
        rowsByCols.release();
        float[] out = new float[values.length];
        for (long b = 0; b < blocksPerRow; b++) {
            float scale = scale(values, b);
            long end = Math.min(cols, (b + 1) * blockSize);
            for (long c = b * blockSize; c < end; c++) {
                out[(int) c] = code(values[(int) c], scale) * scale;
            }
        }
        return out;
    }

    private float scale(float[] row, long block) {
        float max = 0;
        long end = Math.min(cols, (block + 1) * blockSize);
        for (long c = block * blockSize; c < end; c++) {
            max = Math.max(max, Math.abs(row[(int) c]));
        }
        return max / qmax();
    }

    private int code(float value, float scale) {
        if (scale == 0f) {
            return 0;
        }
        long q = Math.round((double) value / scale);
        return (int) Math.max(-qmax() - 1, Math.min(qmax(), q));
    }

    private interface RowConsumer {
        void accept(long row, float[] values) throws IOException;
    }

    /** Reads the weight a chunk of whole rows at a time and hands each row over. */
    private void forEachRow(RowConsumer consumer) throws IOException {
        int width = Math.toIntExact(cols);
        int rowsPerChunk = (int) Math.max(1, Math.min(rows, Math.max(rowsByCols.preferredChunk(), CHUNK_VALUES) / cols));
        float[] chunk = new float[rowsPerChunk * width];
        float[] row = new float[width];
        try {
            for (long r0 = 0; r0 < rows; r0 += rowsPerChunk) {
                int n = (int) Math.min(rowsPerChunk, rows - r0);
                rowsByCols.read(r0 * cols, chunk, 0, n * width);
                for (int i = 0; i < n; i++) {
                    System.arraycopy(chunk, i * width, row, 0, width);
                    consumer.accept(r0 + i, row);
                }
            }
        } finally {
            rowsByCols.release();
        }
    }

    private static void flush(ByteBuffer out, StoredTensor.Sink sink) throws IOException {
        out.flip();
        if (out.hasRemaining()) {
            sink.accept(out);
        }
        out.clear();
    }
}
