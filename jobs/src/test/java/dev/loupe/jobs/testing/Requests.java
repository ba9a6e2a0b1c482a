package dev.loupe.jobs.testing;

import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.ImageSource;
import dev.loupe.schemas.Task;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;

/** Tiny requests and images for the jobs tests. */
public final class Requests {

    private Requests() {}

    /** A w×h image with seeded random pixels, encoded as {@code format} (png or jpg). */
    public static byte[] image(int w, int h, String format, long seed) {
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Random random = new Random(seed);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                image.setRGB(x, y, random.nextInt(0xffffff));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(image, format, out)) {
                throw new IllegalStateException("no writer for " + format);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    public static AnnotationRequest inline(String id, Task task, byte[] bytes) {
        AnnotationRequest.Builder b = AnnotationRequest.newBuilder()
                .setId(id)
                .setImage(ImageSource.newBuilder().setBytes(ByteBuffer.wrap(bytes)).build())
                .setTask(task);
        if (task == Task.VQA) {
            b.setQuestion("what is it?");
        }
        if (task == Task.RANK) {
            b.setCandidates(List.of("a cat", "a dog"));
        }
        return b.build();
    }

    public static AnnotationRequest file(String id, String uri) {
        return AnnotationRequest.newBuilder()
                .setId(id)
                .setImage(ImageSource.newBuilder().setUri(uri).build())
                .setTask(Task.CAPTION)
                .build();
    }
}
