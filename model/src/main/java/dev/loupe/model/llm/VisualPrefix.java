package dev.loupe.model.llm;

import java.util.ArrayList;
import java.util.List;

/**
 * One request's decoder input as the generation strategies pass it along without reading it: the image part
 * followed by the prompt's embeddings. On the Java-API runners it is host rows ([length][width], {@link #onHost});
 * with the device-bound runner's image side the image part is one row of a {@link DeviceRows} block left in the
 * execution provider's memory, between host rows (the prompt's embeddings before and after it: {@link #onDevice}), and {@link DeviceBoundDecoder}'s prefill
 * reads it there, so the image-side output never crosses to the host. Closing a prefix releases its share of the
 * device block (nothing for host rows); its owner — the call or the continuous loop that built it — closes it when
 * the request's prefill has run or its generation ends. Not thread-safe (one owner).
 */
public final class VisualPrefix implements AutoCloseable {
    private final float[][] host;
    private final DeviceRows image;
    private final int imageRow;
    private final float[][] before;
    private final float[][] after;
    private boolean closed;

    private VisualPrefix(float[][] host, DeviceRows image, int imageRow, float[][] before, float[][] after) {
        this.host = host;
        this.image = image;
        this.imageRow = imageRow;
        this.before = before;
        this.after = after;
    }

    /** Host rows [length][width]: the whole prefix in Java memory. */
    public static VisualPrefix onHost(float[][] rows) {
        if (rows == null) {
            throw new IllegalArgumentException("no prefix rows");
        }
        return new VisualPrefix(rows, null, -1, null, null);
    }

    /** {@link #onHost} of each. */
    public static List<VisualPrefix> onHost(List<float[][]> rows) {
        List<VisualPrefix> out = new ArrayList<>(rows.size());
        for (float[][] r : rows) {
            out.add(onHost(r));
        }
        return out;
    }

    /**
     * Row {@code row} of {@code image} (on the device) followed by the host rows {@code after}; takes a reference
     * on the block, which {@link #close()} gives back.
     */
    public static VisualPrefix onDevice(DeviceRows image, int row, float[][] after) {
        return onDevice(null, image, row, after);
    }

    /**
     * The host rows {@code before}, row {@code row} of {@code image} (on the device), then the host rows
     * {@code after}: an image part in the middle of the prompt, as LLaVA's {@code <image>} placeholder puts it. Takes
     * a reference on the block, which {@link #close()} gives back.
     */
    public static VisualPrefix onDevice(float[][] before, DeviceRows image, int row, float[][] after) {
        if (row < 0 || row >= image.rows()) {
            throw new IllegalArgumentException("row " + row + " of " + image.rows() + " device rows");
        }
        image.retain();
        return new VisualPrefix(null, image, row, before == null ? new float[0][] : before,
                after == null ? new float[0][] : after);
    }

    /** Positions of the prefix. */
    public int length() {
        return host != null ? host.length : before.length + image.positions() + after.length;
    }

    /** Whether its image part is in the execution provider's memory. */
    public boolean onDevice() {
        return image != null;
    }

    /**
     * The whole prefix as host rows, for runners that read Java memory.
     *
     * @throws IllegalStateException when its image part is on the device (only the device-bound runner reads it)
     */
    public float[][] rows() {
        if (host == null) {
            throw new IllegalStateException("this prefix's image part is in the device's memory: only the "
                    + "device-bound decoder runner reads it");
        }
        return host;
    }

    /** The device block of its image part (device prefixes). */
    DeviceRows image() {
        check();
        return image;
    }

    /** Its row of {@link #image()}. */
    int imageRow() {
        return imageRow;
    }

    /** The host rows before its image part (device prefixes; none for an image part first). */
    float[][] before() {
        return before;
    }

    /** The host rows after its image part (device prefixes). */
    float[][] after() {
        return after;
    }

    /** {@link #rows()} of each. */
    static List<float[][]> hostRows(List<VisualPrefix> prefixes) {
        List<float[][]> out = new ArrayList<>(prefixes.size());
        for (VisualPrefix p : prefixes) {
            out.add(p.rows());
        }
        return out;
    }

    private void check() {
        if (closed) {
            throw new IllegalStateException("prefix used after it was closed");
        }
    }

    /** Releases its share of the device block (once; nothing for host rows). */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            if (image != null) {
                image.release();
            }
        }
    }

    /** Closes each (null entries skipped), all of them even when one fails. */
    public static void closeAll(Iterable<VisualPrefix> prefixes) {
        RuntimeException first = null;
        for (VisualPrefix p : prefixes) {
            try {
                if (p != null) {
                    p.close();
                }
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
