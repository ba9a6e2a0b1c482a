package dev.loupe.flink.testing;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Test-only preprocessor: decodes with ImageIO and reduces the image to its mean colour, a 3x1x1 tensor in [0, 1].
 * Enough for pipeline tests to tell images apart and to exercise the preprocess failure codes.
 */
public final class TestImagePreprocessor implements ImagePreprocessor {
    private final long maxPixels;

    public TestImagePreprocessor(long maxPixels) {
        this.maxPixels = maxPixels;
    }

    @Override
    public ImageTensor preprocess(byte[] encoded) throws AnnotationException {
        if (encoded.length == 0) {
            throw new AnnotationException(ErrorCode.IMAGE_EMPTY, "zero bytes");
        }
        BufferedImage image;
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(encoded))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new AnnotationException(ErrorCode.IMAGE_UNSUPPORTED_FORMAT, "not an image in a known format");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in);
                long pixels = (long) reader.getWidth(0) * reader.getHeight(0);
                if (pixels > maxPixels) {
                    throw new AnnotationException(ErrorCode.IMAGE_TOO_MANY_PIXELS, pixels + " pixels > " + maxPixels);
                }
                image = reader.read(0);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            throw new AnnotationException(ErrorCode.IMAGE_CORRUPT, "cannot decode: " + e.getMessage(), e);
        }
        double r = 0;
        double g = 0;
        double b = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y);
                r += (rgb >> 16) & 0xff;
                g += (rgb >> 8) & 0xff;
                b += rgb & 0xff;
            }
        }
        double n = 255.0 * image.getWidth() * image.getHeight();
        return new ImageTensor(new float[] {(float) (r / n), (float) (g / n), (float) (b / n)}, 3, 1, 1);
    }
}
