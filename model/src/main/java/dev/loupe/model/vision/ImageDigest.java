package dev.loupe.model.vision;

import dev.loupe.model.api.ImageTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The identity of a preprocessed image: SHA-256 of its shape and the raw bits of its pixel values. Within one model
 * the image stage is a function of exactly this tensor, so equal digests mean equal features, whatever file, URI
 * or decode path the pixels came from; and since the key is taken after preprocessing, a change of preprocessing
 * can never serve stale features. A cryptographic hash, so that a collision (which would silently give one image
 * another's features) is not a practical concern; it costs about 1 ms per 224 x 224 image, a few percent of the
 * vision pass it may save.
 */
public record ImageDigest(long a, long b, long c, long d) {

    private static final int CHUNK_FLOATS = 8192;

    public static ImageDigest of(ImageTensor image) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
        ByteBuffer bytes = ByteBuffer.allocate(CHUNK_FLOATS * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putInt(image.channels()).putInt(image.height()).putInt(image.width()).flip();
        sha.update(bytes);
        float[] chw = image.chw();
        for (int from = 0; from < chw.length; from += CHUNK_FLOATS) {
            int n = Math.min(CHUNK_FLOATS, chw.length - from);
            bytes.clear();
            FloatBuffer floats = bytes.asFloatBuffer();
            floats.put(chw, from, n); // raw IEEE bits, so equal keys mean bit-identical pixels
            bytes.limit(n * Float.BYTES);
            sha.update(bytes);
        }
        ByteBuffer h = ByteBuffer.wrap(sha.digest());
        return new ImageDigest(h.getLong(), h.getLong(), h.getLong(), h.getLong());
    }

    @Override
    public String toString() {
        return String.format("%016x%016x%016x%016x", a, b, c, d);
    }
}
