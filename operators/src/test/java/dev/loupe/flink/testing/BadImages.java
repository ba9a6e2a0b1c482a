package dev.loupe.flink.testing;

import java.awt.image.BufferedImage;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import java.util.zip.CRC32;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * Tiny encoded images of the awkward kinds real traffic brings — odd colour models, animations, truncations,
 * decompression bombs, things that are not images at all — generated in code (no binary files in the repo).
 */
public final class BadImages {
    private BadImages() {}

    /** A small RGB noise image (seeded), so its encodings are not trivially flat. */
    public static BufferedImage noise(int width, int height, long seed) {
        Random random = new Random(seed);
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                image.setRGB(x, y, random.nextInt(0x1000000));
            }
        }
        return image;
    }

    public static byte[] encode(BufferedImage image, String format) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(image, format, out)) {
                throw new IllegalStateException("no ImageIO writer for " + format + " and " + image.getType());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    public static byte[] truncated(byte[] encoded) {
        return Arrays.copyOf(encoded, encoded.length * 2 / 3);
    }

    public static byte[] randomBytes(int n, long seed) {
        byte[] bytes = new byte[n];
        new Random(seed).nextBytes(bytes);
        bytes[0] = 0x01;   // no image format starts so
        return bytes;
    }

    public static byte[] grey() {
        BufferedImage image = new BufferedImage(12, 10, BufferedImage.TYPE_BYTE_GRAY);
        image.getGraphics().drawImage(noise(12, 10, 3), 0, 0, null);
        return encode(image, "png");
    }

    public static byte[] rgba() {
        BufferedImage image = new BufferedImage(12, 10, BufferedImage.TYPE_4BYTE_ABGR);
        WritableRaster r = image.getRaster();
        for (int y = 0; y < 10; y++) {
            for (int x = 0; x < 12; x++) {
                r.setPixel(x, y, new int[] {20 * x, 25 * y, 100, (x * y * 7) & 0xFF});
            }
        }
        return encode(image, "png");
    }

    public static byte[] sixteenBitGrey() {
        BufferedImage image = new BufferedImage(12, 10, BufferedImage.TYPE_USHORT_GRAY);
        for (int y = 0; y < 10; y++) {
            for (int x = 0; x < 12; x++) {
                image.getRaster().setSample(x, y, 0, 5000 * x + 300 * y);
            }
        }
        return encode(image, "png");
    }

    private static IndexColorModel palette() {
        byte[] r = {0, (byte) 255, 0, 30};
        byte[] g = {0, 0, (byte) 200, 60};
        byte[] b = {0, 0, 0, (byte) 240};
        return new IndexColorModel(8, 4, r, g, b);
    }

    private static BufferedImage indexed(int shift) {
        BufferedImage image = new BufferedImage(16, 16, BufferedImage.TYPE_BYTE_INDEXED, palette());
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                image.getRaster().setSample(x, y, 0, ((x + y + shift) / 4) % 4);
            }
        }
        return image;
    }

    public static byte[] palettePng() {
        return encode(indexed(0), "png");
    }

    /** A two-frame looping GIF; the decoder reads the first frame, as Pillow does. */
    public static byte[] animatedGif() {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("gif").next();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
            writer.setOutput(out);
            writer.prepareWriteSequence(null);
            for (int frame = 0; frame < 2; frame++) {
                BufferedImage image = indexed(frame * 3);
                IIOMetadata meta = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(image), null);
                String format = meta.getNativeMetadataFormatName();
                IIOMetadataNode root = (IIOMetadataNode) meta.getAsTree(format);
                IIOMetadataNode control = new IIOMetadataNode("GraphicControlExtension");
                control.setAttribute("disposalMethod", "none");
                control.setAttribute("userInputFlag", "FALSE");
                control.setAttribute("transparentColorFlag", "FALSE");
                control.setAttribute("delayTime", "10");
                control.setAttribute("transparentColorIndex", "0");
                root.appendChild(control);
                meta.setFromTree(format, root);
                writer.writeToSequence(new IIOImage(image, null, meta), null);
            }
            writer.endWriteSequence();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            writer.dispose();
        }
        return bytes.toByteArray();
    }

    /** A 4x2 lossless WebP (VP8L) made with {@code cwebp -lossless -exact} (as in ImageDecoderTest). */
    public static byte[] webp() {
        return HexFormat.of().parseHex("5249464646000000574542505650384c3a0000002f034000003f401660b220fa82ca5f661a64c210fbf5efe2520d99"
                + "80c574f06ba47f9bcd7f80902287d4cc57eb412880c6602209a65f44ff031b");
    }

    /** A 16x16 Adobe CMYK JPEG (four channels, APP14 transform 0). */
    public static byte[] cmykJpeg() {
        WritableRaster raster = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, 16, 16, 4, null);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                raster.setPixel(x, y, new int[] {200 - 5 * x, 100, 50 + 4 * y, 220});
            }
        }
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
            writer.setOutput(out);
            ImageWriteParam param = writer.getDefaultWriteParam();
            param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            param.setCompressionQuality(0.9f);
            writer.write(null, new IIOImage(raster, null, null), param);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            writer.dispose();
        }
        byte[] app14 = {(byte) 0xFF, (byte) 0xEE, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0};
        return afterSoi(bytes.toByteArray(), app14);
    }

    /** A JPEG with an EXIF APP1 segment saying "rotate 90° clockwise to display" (orientation 6). */
    public static byte[] exifRotatedJpeg() {
        ByteBuffer tiff = ByteBuffer.allocate(6 + 8 + 2 + 12 + 4);
        tiff.put("Exif\0\0".getBytes(StandardCharsets.ISO_8859_1))
                .put(new byte[] {'M', 'M', 0, 42, 0, 0, 0, 8})
                .putShort((short) 1)
                .putShort((short) 0x0112).putShort((short) 3).putInt(1).putShort((short) 6).putShort((short) 0)
                .putInt(0);
        byte[] body = tiff.array();
        ByteBuffer app1 = ByteBuffer.allocate(4 + body.length);
        app1.put((byte) 0xFF).put((byte) 0xE1).putShort((short) (2 + body.length)).put(body);
        return afterSoi(encode(noise(16, 8, 5), "jpeg"), app1.array());
    }

    private static byte[] afterSoi(byte[] jpeg, byte[] segment) {
        byte[] out = new byte[jpeg.length + segment.length];
        System.arraycopy(jpeg, 0, out, 0, 2);
        System.arraycopy(segment, 0, out, 2, segment.length);
        System.arraycopy(jpeg, 2, out, 2 + segment.length, jpeg.length - 2);
        return out;
    }

    /** A valid PNG signature and IHDR claiming width x height 8-bit RGB, followed by a tiny IDAT: a decompression bomb. */
    public static byte[] pngBomb(int width, int height) {
        ByteBuffer png = ByteBuffer.allocate(8 + 25 + 12 + 20 + 12);
        png.put(new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10});
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(width).putInt(height)
                .put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
        chunk(png, "IHDR", ihdr.array());
        chunk(png, "IDAT", new byte[] {0x78, (byte) 0x9C, 0x63, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        chunk(png, "IEND", new byte[0]);
        return Arrays.copyOf(png.array(), png.position());
    }

    private static void chunk(ByteBuffer out, String type, byte[] data) {
        byte[] name = type.getBytes(StandardCharsets.US_ASCII);
        CRC32 crc = new CRC32();
        crc.update(name);
        crc.update(data);
        out.putInt(data.length).put(name).put(data).putInt((int) crc.getValue());
    }

    public static byte[] svg() {
        return ("<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\">"
                + "<rect width=\"10\" height=\"10\" fill=\"red\"/></svg>").getBytes(StandardCharsets.UTF_8);
    }
}
