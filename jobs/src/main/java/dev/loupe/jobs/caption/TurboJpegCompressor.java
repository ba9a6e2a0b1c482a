package dev.loupe.jobs.caption;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import dev.loupe.model.api.Thumbnail;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * Writes thumbnails as JPEGs with libjpeg-turbo's TurboJPEG compressor (the {@code libturbojpeg.so.0} the JPEG decoder
 * uses), straight from the thumbnail's RGB bytes into a native buffer that is written to the file: no
 * {@code BufferedImage}, no ImageIO writer, metadata tree or per-row raster copies (in JFR, ImageIO's JPEG writer
 * allocated about 750 KB on the heap per 192x144 thumbnail, a quarter of {@code loupe caption}'s allocation). The
 * encoding is ImageIO's at quality 0.8 (the same IJG quality-80 tables, 4:2:0 chroma, libjpeg's accurate integer DCT,
 * the standard Huffman tables); see {@code ThumbnailsTest} for what is compared.
 *
 * <p>One instance per writing thread: a TurboJPEG handle is not thread-safe. {@link #open} is null where the library
 * is not installed or not usable (then {@link Thumbnails} writes with ImageIO); {@code -Dloupe.turbojpeg=false}
 * switches it off as it does the decoder, and {@code -Dloupe.turbojpeg.library} names the library file as for the
 * decoder.
 */
final class TurboJpegCompressor implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(TurboJpegCompressor.class.getName());
    /** {@code TJPF_RGB}: 3 bytes per pixel, R, G, B. */
    private static final int TJPF_RGB = 0;
    /** {@code TJSAMP_420}: chroma halved both ways, as ImageIO's writer does for a 3-channel image. */
    private static final int TJSAMP_420 = 2;
    /** {@code TJFLAG_NOREALLOC}: compress into the buffer given (sized by {@code tjBufSize}); never reallocate it. */
    private static final int TJFLAG_NOREALLOC = 1024;
    /**
     * {@code TJFLAG_ACCURATEDCT}: libjpeg's accurate integer DCT (ISLOW), ImageIO's; without it TurboJPEG compresses
     * below quality 96 with the fast, less accurate one.
     */
    private static final int TJFLAG_ACCURATEDCT = 4096;
    /** Null when the library is bound, else why not. */
    private static final String UNUSABLE = bind();

    private Pointer handle;
    private Memory buffer;
    /** The native output pointer and size, passed by reference as 64-bit slots (LP64 only, checked in bind). */
    private final long[] bufferAddress = new long[1];
    private final long[] jpegSize = new long[1];

    private TurboJpegCompressor(Pointer handle) {
        this.handle = handle;
    }

    /** A compressor of its own for the calling thread, or null where TurboJPEG is not usable (logged once). */
    static TurboJpegCompressor open() {
        if (UNUSABLE != null) {
            return null;
        }
        Pointer handle = Library.tjInitCompress();
        return handle == null ? null : new TurboJpegCompressor(handle);
    }

    /** Why {@link #open} gives null, or null when it does not. */
    static String unusable() {
        return UNUSABLE;
    }

    private static String bind() {
        if ("false".equalsIgnoreCase(System.getProperty("loupe.turbojpeg", "true").strip())) {
            return "switched off by -Dloupe.turbojpeg=false";
        }
        if (Native.POINTER_SIZE != 8 || Native.LONG_SIZE != 8) {
            return "not a 64-bit (LP64) platform";
        }
        String configured = System.getProperty("loupe.turbojpeg.library");
        List<String> names = configured != null && !configured.isBlank() ? List.of(configured.strip())
                : List.of("libturbojpeg.so.0", "turbojpeg");
        List<String> failures = new ArrayList<>();
        for (String name : names) {
            try {
                Native.register(Library.class, NativeLibrary.getInstance(name));
                Pointer probe = Library.tjInitCompress();
                if (probe == null) {
                    failures.add(name + ": tjInitCompress failed");
                    continue;
                }
                Library.tjDestroy(probe);
                return null;
            } catch (Throwable e) { // UnsatisfiedLinkError and friends: thumbnails are written with ImageIO
                failures.add(name + ": " + e.getMessage());
            }
        }
        String why = String.join("; ", failures);
        LOG.info("Thumbnails: JDK ImageIO's JPEG writer (libjpeg-turbo's compressor not usable: " + why + ")");
        return why;
    }

    /** Writes {@code thumbnail} to {@code file} (created or truncated) as a JPEG of {@code quality} (1-100). */
    void write(Thumbnail thumbnail, int quality, Path file) throws IOException {
        if (handle == null) {
            throw new IllegalStateException("compressor closed");
        }
        int width = thumbnail.width();
        int height = thumbnail.height();
        long capacity = Library.tjBufSize(width, height, TJSAMP_420).longValue();
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
        int status = Library.tjCompress2(handle, thumbnail.rgb(), width, 3 * width, height, TJPF_RGB, bufferAddress,
                jpegSize, TJSAMP_420, quality, TJFLAG_NOREALLOC | TJFLAG_ACCURATEDCT);
        if (status != 0 || bufferAddress[0] != Pointer.nativeValue(buffer) || jpegSize[0] <= 0
                || jpegSize[0] > capacity) {
            throw new IOException("TurboJPEG could not compress a " + width + "x" + height + " thumbnail: "
                    + Library.tjGetErrorStr2(handle));
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
            Library.tjDestroy(handle);
            handle = null;
        }
        if (buffer != null) {
            buffer.close();
            buffer = null;
        }
    }

    /** The TurboJPEG 2.x compression calls, bound with JNA direct mapping by {@link #bind}. */
    private static final class Library {
        private Library() {}

        static native Pointer tjInitCompress();

        /** {@code jpegBuf}: the address of the output buffer ({@code unsigned char **}); {@code jpegSize} its size. */
        static native int tjCompress2(Pointer handle, byte[] srcBuf, int width, int pitch, int height, int pixelFormat,
                long[] jpegBuf, long[] jpegSize, int jpegSubsamp, int jpegQual, int flags);

        static native NativeLong tjBufSize(int width, int height, int jpegSubsamp);

        static native String tjGetErrorStr2(Pointer handle);

        static native int tjDestroy(Pointer handle);
    }
}
