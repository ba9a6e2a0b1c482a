package dev.loupe.model.image;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.loupe.model.api.Thumbnail;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Writes thumbnails as JPEGs with libjpeg-turbo's TurboJPEG compressor (the {@code libturbojpeg.so.0} the JPEG decoder
 * uses), straight from the thumbnail's RGB bytes into a native buffer that is written to the file: no
 * {@code BufferedImage}, no ImageIO writer, metadata tree or per-row raster copies (in JFR, ImageIO's JPEG writer
 * allocated about 750 KB on the heap per 192x144 thumbnail, a quarter of {@code loupe caption}'s allocation). The
 * encoding is ImageIO's at quality 0.8 (the same IJG quality-80 tables, 4:2:0 chroma, libjpeg's accurate integer DCT,
 * the standard Huffman tables); see {@code ThumbnailsTest} for what is compared.
 *
 * <p>One instance per writing thread: a TurboJPEG handle is not thread-safe. {@link #open} is null where the library
 * is not usable: it is the decoder's ({@link TurboJpegDecoder}, bound once with the same {@code -Dloupe.turbojpeg} and
 * {@code -Dloupe.turbojpeg.library} switches), so JPEGs are read and written by the same library or neither.
 */
public final class TurboJpegCompressor implements AutoCloseable {

    private Pointer handle;
    private Memory buffer;
    /** The native output pointer and size, passed by reference as 64-bit slots (LP64 only: {@link #open} checks). */
    private final long[] bufferAddress = new long[1];
    private final long[] jpegSize = new long[1];

    private TurboJpegCompressor(Pointer handle) {
        this.handle = handle;
    }

    /** A compressor of its own for the calling thread, or null where TurboJPEG is not usable (the decoder logs why, once). */
    public static TurboJpegCompressor open() {
        if (TurboJpegDecoder.shared() == null || Native.POINTER_SIZE != 8 || Native.LONG_SIZE != 8) {
            return null;
        }
        Pointer handle = TurboJpegLibrary.tjInitCompress();
        return handle == null ? null : new TurboJpegCompressor(handle);
    }

    /** Why {@link #open} gives null (the decoder's sentence on the library), or null when it does not. */
    public static String unusable() {
        return TurboJpegDecoder.shared() == null ? TurboJpegDecoder.activeDecoder() : null;
    }

    /** Writes {@code thumbnail} to {@code file} (created or truncated) as a JPEG of {@code quality} (1-100). */
    public void write(Thumbnail thumbnail, int quality, Path file) throws IOException {
        if (handle == null) {
            throw new IllegalStateException("compressor closed");
        }
        int width = thumbnail.width();
        int height = thumbnail.height();
        long capacity = TurboJpegLibrary.tjBufSize(width, height, TurboJpegLibrary.TJSAMP_420).longValue();
        if (capacity <= 0) {
            throw new IOException("TurboJPEG gives no buffer size for a " + width + "x" + height + " image");
        }
        if (buffer == null || buffer.size() < capacity) {
            if (buffer != null) {
                buffer.close();
            }
            buffer = new Memory(capacity);
        }
        bufferAddress[0] = Pointer.nativeValue(buffer);
        jpegSize[0] = 0;
        int status = TurboJpegLibrary.tjCompress2(handle, thumbnail.rgb(), width, 3 * width, height,
                TurboJpegLibrary.TJPF_RGB, bufferAddress, jpegSize, TurboJpegLibrary.TJSAMP_420, quality,
                TurboJpegLibrary.TJFLAG_NOREALLOC | TurboJpegLibrary.TJFLAG_ACCURATEDCT);
        if (status != 0 || bufferAddress[0] != Pointer.nativeValue(buffer) || jpegSize[0] <= 0
                || jpegSize[0] > capacity) {
            throw new IOException("TurboJPEG could not compress a " + width + "x" + height + " thumbnail: "
                    + TurboJpegLibrary.tjGetErrorStr2(handle));
        }
        ByteBuffer jpeg = buffer.getByteBuffer(0, jpegSize[0]);
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            while (jpeg.hasRemaining()) {
                out.write(jpeg);
            }
        }
    }

    /** Frees the handle and the native buffer. */
    @Override
    public void close() {
        if (handle != null) {
            TurboJpegLibrary.tjDestroy(handle);
            handle = null;
        }
        if (buffer != null) {
            buffer.close();
            buffer = null;
        }
    }
}
