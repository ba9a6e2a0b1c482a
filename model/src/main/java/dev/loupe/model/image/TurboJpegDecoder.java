package dev.loupe.model.image;

import com.sun.jna.Memory;
import com.sun.jna.NativeLibrary;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;

import java.lang.ref.Cleaner;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * Decodes JPEGs with libjpeg-turbo (the system's {@code libturbojpeg.so.0}, through its TurboJPEG API): the library
 * Pillow decodes with, SIMD-accelerated, and able to decode at 1/2, 1/4 or 1/8 scale by DCT scaling as Pillow's
 * {@code Image.draft} does. It decodes as Pillow does: libjpeg's accurate integer IDCT (ISLOW), fancy upsampling,
 * libjpeg's own YCbCr-to-RGB conversion. {@link ImageDecoder}'s ImageIO path gives the same pixels where the JDK
 * links the system's libjpeg-turbo (Debian's OpenJDK, for one); where it bundles IJG libjpeg 6b (Temurin) it
 * differs on 4:4:0 chroma and refuses arithmetic coding (see docs/benchmarks.md).
 *
 * <p>The library is looked up once per class loader ({@link #shared()}, null when it is not installed or
 * {@code -Dloupe.turbojpeg=false}); one log line says which JPEG decoder is active. Thread-safe: each call borrows a
 * TurboJPEG handle and its native output buffer from a small pool (at most one idle handle per processor and
 * {@value #MAX_RETAINED_BYTES} bytes of buffers are kept; the rest, and any handle that failed, are freed at once;
 * the idle ones when the pool becomes unreachable). The pixels are read from the native buffer while the session is
 * borrowed: copied to the heap, or handed row by row to a caller's code that runs before the session goes back.
 */
final class TurboJpegDecoder {
    /** System property: {@code false} keeps JPEGs on ImageIO even where libturbojpeg is installed. */
    static final String ENABLED_PROPERTY = "loupe.turbojpeg";
    /** System property: the library's file name or path, where it is not {@code libturbojpeg.so.0} on the search path. */
    static final String LIBRARY_PROPERTY = "loupe.turbojpeg.library";

    private static final Logger LOG = Logger.getLogger(TurboJpegDecoder.class.getName());
    private static final Cleaner CLEANER = Cleaner.create();
    /** Native output buffers kept between calls, all sessions together: four 12-megapixel RGB photos. */
    static final long MAX_RETAINED_BYTES = 4L * 3 * 4000 * 3000;
    private static final Loaded LOADED = load();

    /** What {@link #load} found: the decoder (null when the library is unusable) and a sentence saying so. */
    private record Loaded(TurboJpegDecoder decoder, String description) {}

    /** Picks the DCT scale (1, 2, 4 or 8) once the header's size is known, or throws to reject the image. */
    interface ScaleChoice {
        int scale(int width, int height) throws AnnotationException;
    }

    private final String library;
    /** The library's scaling factors as {num, denom}, in its order (largest first). */
    private final int[][] scalingFactors;
    private final SessionPool sessions = new SessionPool(Math.max(2, Runtime.getRuntime().availableProcessors()),
            MAX_RETAINED_BYTES);

    private TurboJpegDecoder(String library, int[][] scalingFactors) {
        this.library = library;
        this.scalingFactors = scalingFactors;
        CLEANER.register(this, sessions::destroyIdle);
    }

    /** The process's decoder, or null when libturbojpeg cannot be used here ({@link #activeDecoder()} says why). */
    static TurboJpegDecoder shared() {
        return LOADED.decoder;
    }

    /** One sentence: which JPEG decoder {@link ImageDecoder} uses by default in this process, and why. */
    static String activeDecoder() {
        return LOADED.description;
    }

    private static Loaded load() {
        Loaded loaded = tryLoad();
        LOG.info(loaded.description);
        return loaded;
    }

    private static Loaded tryLoad() {
        String fallback = "JPEG decoding: JDK ImageIO (the JDK's libjpeg) with TwelveMonkeys; ";
        if ("false".equalsIgnoreCase(System.getProperty(ENABLED_PROPERTY, "true").strip())) {
            return new Loaded(null, fallback + "libjpeg-turbo switched off by -D" + ENABLED_PROPERTY + "=false");
        }
        List<String> names = new ArrayList<>();
        String configured = System.getProperty(LIBRARY_PROPERTY);
        if (configured != null && !configured.isBlank()) {
            names.add(configured.strip());
        } else {
            names.add("libturbojpeg.so.0");
            names.add("turbojpeg");
        }
        List<String> failures = new ArrayList<>();
        for (String name : names) {
            try {
                NativeLibrary lib = NativeLibrary.getInstance(name);
                TurboJpegLibrary.bind(lib);
                int[][] factors = scalingFactors();
                TurboJpegDecoder decoder = new TurboJpegDecoder(lib.getFile() != null ? lib.getFile().toString() : name,
                        factors);
                decoder.sessions.giveBack(decoder.sessions.borrow(), true); // the library really works
                return new Loaded(decoder, "JPEG decoding: libjpeg-turbo through TurboJPEG (" + decoder.library
                        + "); CMYK/YCCK, lossless and 12-bit JPEGs: JDK ImageIO with TwelveMonkeys");
            } catch (Throwable e) { // UnsatisfiedLinkError and friends: no usable library, decode with ImageIO
                failures.add(name + ": " + e.getMessage());
            }
        }
        return new Loaded(null, fallback + "libjpeg-turbo not usable (install libturbojpeg0 for Pillow's decoder, "
                + "faster, and DCT-scaled reduced decoding): " + String.join("; ", failures));
    }

    private static int[][] scalingFactors() {
        int[] count = new int[1];
        Pointer p = TurboJpegLibrary.tjGetScalingFactors(count);
        if (p == null || count[0] <= 0) {
            throw new IllegalStateException("tjGetScalingFactors gave none");
        }
        int[] flat = p.getIntArray(0, 2 * count[0]);
        int[][] factors = new int[count[0]][];
        for (int i = 0; i < count[0]; i++) {
            factors[i] = new int[]{flat[2 * i], flat[2 * i + 1]};
        }
        return factors;
    }

    /**
     * Decodes a JPEG whose markers say {@code stored} (grey, YCbCr or RGB), at 1/{@code choice.scale} size. Null when
     * libjpeg-turbo reads the colour space differently from {@link JpegStructure}; the caller then decodes it its
     * own way. The rows are a heap copy, the caller's to keep.
     *
     * @throws AnnotationException IMAGE_CORRUPT for damaged data (libjpeg warnings included), or what {@code choice}
     *                             throws, always before the pixel buffer is allocated
     */
    RgbRows decode(byte[] encoded, JpegStructure.Stored stored, ScaleChoice choice) throws AnnotationException {
        return decode(encoded, stored, choice, RgbRows::onHeap);
    }

    /**
     * As {@link #decode(byte[], JpegStructure.Stored, ScaleChoice)}, handing the rows to {@code user} straight from
     * the native buffer libjpeg-turbo decoded into (RGB: no heap copy of the image; grey: a heap copy, as before).
     * The session and its buffer go back to the pool only after {@code user} returned, and the rows refuse to be read
     * from then on, so no other call can overwrite what {@code user} still reads. Null as above.
     */
    <T> T decode(byte[] encoded, JpegStructure.Stored stored, ScaleChoice choice, RgbRows.Use<T> user)
            throws AnnotationException {
        NativeLong size = new NativeLong(encoded.length);
        Session session = sessions.borrow();
        boolean healthy = false;
        NativeRows rows = null;
        try {
            Pointer handle = session.handle;
            Memory in = session.input(encoded.length);
            in.write(0, encoded, 0, encoded.length);
            int[] widthOut = new int[1];
            int[] heightOut = new int[1];
            int[] subsampling = new int[1];
            int[] colourspace = new int[1];
            if (TurboJpegLibrary.tjDecompressHeader3(handle, in, size, widthOut, heightOut, subsampling, colourspace)
                    != 0) {
                throw corrupt(handle);
            }
            healthy = true;
            int width = widthOut[0];
            int height = heightOut[0];
            if (colourspace[0] != expectedColourspace(stored)) {
                return null;
            }
            int scale = choice.scale(width, height);
            if (scale != 1 && !picksExactly(width, height, scale)) {
                scale = 1;
            }
            int w = (width + scale - 1) / scale;
            int h = (height + scale - 1) / scale;
            boolean grey = stored == JpegStructure.Stored.GREY;
            int channels = grey ? 1 : 3;
            long bytes = Math.multiplyExact(Math.multiplyExact((long) w, h), channels);
            if (bytes > Integer.MAX_VALUE - 8) {
                throw new AnnotationException(ErrorCode.IMAGE_TOO_MANY_PIXELS,
                        "the jpeg image is " + width + "x" + height + " pixels, too many to hold");
            }
            Memory out = session.output(bytes);
            if (TurboJpegLibrary.tjDecompress2(handle, in, size, out, w, w * channels, h,
                    grey ? TurboJpegLibrary.TJPF_GRAY : TurboJpegLibrary.TJPF_RGB,
                    TurboJpegLibrary.TJFLAG_ACCURATEDCT | TurboJpegLibrary.TJFLAG_STOPONWARNING) != 0) {
                healthy = false;
                throw corrupt(handle);
            }
            if (grey) {
                byte[] pixels = new byte[(int) bytes];
                out.read(0, pixels, 0, pixels.length);
                return Objects.requireNonNull(user.apply(RgbRows.grey(w, h, pixels)), "rows user gave null");
            }
            rows = new NativeRows(w, h, out);
            return Objects.requireNonNull(user.apply(rows), "rows user gave null");
        } finally {
            if (rows != null) {
                rows.release();
            }
            sessions.giveBack(session, healthy);
        }
    }

    /** Largest decoded image (bytes) whose heap copy a thread keeps for the next: a 4-megapixel RGB photo. */
    static final int MAX_KEPT_COPY_BYTES = 12 << 20;
    /** Per thread, the array {@link NativeRows#array()} copies into: one native read per image, no new array. */
    private static final ThreadLocal<byte[]> KEPT_COPY = new ThreadLocal<>();

    /**
     * RGB rows in a session's native output buffer, valid only while the session is borrowed (reading afterwards
     * throws rather than returning another image's pixels). Whole, they are copied in one read into an array the
     * thread reuses (one JNI call instead of one per row, about 0.1 ms per 640x480 image); over
     * {@link #MAX_KEPT_COPY_BYTES} they are read row by row into the reader's own array.
     */
    private static final class NativeRows extends RgbRows {
        private final Memory pixels;
        /** Set when the session went back to the pool; only the decoding thread reads and writes it. */
        private boolean released;
        private byte[] copy;

        /** No reads from now on; the heap copy's array goes back to the thread for its next image. */
        void release() {
            released = true;
            if (copy != null) {
                KEPT_COPY.set(copy);
                copy = null;
            }
        }

        NativeRows(int width, int height, Memory pixels) {
            super(width, height);
            this.pixels = pixels;
        }

        private void checkLive() {
            if (released) {
                throw new IllegalStateException("decoded rows read after the decoder took its buffer back");
            }
        }

        @Override
        void row(int y, byte[] dst, int offset) {
            checkLive();
            if (y < 0 || y >= height) {
                throw new IndexOutOfBoundsException("row " + y + " of " + height);
            }
            pixels.read(3L * width * y, dst, offset, 3 * width);
        }

        /** The rows copied to this thread's reused array (longer than the image when an earlier one was larger). */
        @Override
        byte[] array() {
            checkLive();
            if (copy == null) {
                int n = 3 * width * height;
                if (n > MAX_KEPT_COPY_BYTES) {
                    return null;
                }
                byte[] b = KEPT_COPY.get();
                KEPT_COPY.remove(); // these rows' own until released: a decode nested in their reader gets another
                if (b == null || b.length < n) {
                    b = new byte[n];
                }
                pixels.read(0, b, 0, n);
                copy = b;
            }
            return copy;
        }

        @Override
        RgbImage toImage() {
            checkLive();
            byte[] out = new byte[3 * width * height];
            pixels.read(0, out, 0, out.length);
            return new RgbImage(width, height, out);
        }

        @Override
        RgbRows onHeap() {
            return RgbRows.of(toImage());
        }
    }

    private static int expectedColourspace(JpegStructure.Stored stored) {
        switch (stored) {
            case GREY:
                return TurboJpegLibrary.TJCS_GRAY;
            case YCBCR:
                return TurboJpegLibrary.TJCS_YCBCR;
            case RGB:
                return TurboJpegLibrary.TJCS_RGB;
            default:
                throw new IllegalArgumentException("TurboJpegDecoder does not decode " + stored + " JPEGs");
        }
    }

    /**
     * Whether asking tjDecompress2 for {@code ceil(size / scale)} makes it use exactly 1/scale: it takes the first of
     * its factors (largest first) whose result fits, and on tiny images a factor such as 5/8 can give the same size.
     */
    boolean picksExactly(int width, int height, int scale) {
        int w = (width + scale - 1) / scale;
        int h = (height + scale - 1) / scale;
        for (int[] f : scalingFactors) {
            long sw = ((long) width * f[0] + f[1] - 1) / f[1];
            long sh = ((long) height * f[0] + f[1] - 1) / f[1];
            if (sw <= w && sh <= h) {
                return f[0] * scale == f[1];
            }
        }
        return false;
    }

    private static AnnotationException corrupt(Pointer handle) {
        String message = TurboJpegLibrary.tjGetErrorStr2(handle);
        return new AnnotationException(ErrorCode.IMAGE_CORRUPT, "the jpeg image is corrupt or truncated: "
                + (message == null ? "libjpeg-turbo failed" : message.strip()));
    }

    /**
     * A TurboJPEG handle and the native buffer it last decoded into. The buffer is kept for the next image because
     * a fresh one costs more than the decode on large photos: tens of megabytes of new pages, each faulted in when
     * libjpeg-turbo first writes it (300-500 ms for 36 MB on the loaded build machine, against 130-250 ms for the
     * decode itself).
     */
    private static final class Session {
        final Pointer handle;
        Memory buffer;
        /** The encoded file, copied where libjpeg-turbo reads it; kept like {@link #buffer}. */
        Memory input;

        Session(Pointer handle) {
            this.handle = handle;
        }

        /** A buffer of at least {@code bytes}, this session's own when large enough. */
        Memory output(long bytes) {
            if (buffer == null || buffer.size() < bytes) {
                if (buffer != null) {
                    buffer.close();
                }
                buffer = new Memory(bytes);
            }
            return buffer;
        }

        /** A buffer for {@code bytes} of encoded input, this session's own when large enough. */
        Memory input(long bytes) {
            if (input == null || input.size() < bytes) {
                if (input != null) {
                    input.close();
                }
                input = new Memory(Math.max(bytes, 1));
            }
            return input;
        }

        long retained() {
            return (buffer == null ? 0 : buffer.size()) + (input == null ? 0 : input.size());
        }

        void dropBuffer() {
            if (buffer != null) {
                buffer.close();
                buffer = null;
            }
            if (input != null) {
                input.close();
                input = null;
            }
        }

        void destroy() {
            dropBuffer();
            TurboJpegLibrary.tjDestroy(handle);
        }
    }

    /**
     * Idle sessions; a borrowed one is used by one thread only. At most {@code maxIdle} wait, and their buffers
     * together hold at most {@code maxRetainedBytes} (a buffer over the budget is freed when its session comes back).
     */
    private static final class SessionPool {
        private final Queue<Session> idle = new ConcurrentLinkedQueue<>();
        private final AtomicInteger idleCount = new AtomicInteger();
        private final AtomicLong retainedBytes = new AtomicLong();
        private final int maxIdle;
        private final long maxRetainedBytes;

        SessionPool(int maxIdle, long maxRetainedBytes) {
            this.maxIdle = maxIdle;
            this.maxRetainedBytes = maxRetainedBytes;
        }

        Session borrow() {
            Session session = idle.poll();
            if (session != null) {
                idleCount.decrementAndGet();
                retainedBytes.addAndGet(-session.retained());
                return session;
            }
            Pointer handle = TurboJpegLibrary.tjInitDecompress();
            if (handle == null) {
                throw new OutOfMemoryError("tjInitDecompress failed: " + TurboJpegLibrary.tjGetErrorStr2(null));
            }
            return new Session(handle);
        }

        /** Keeps a healthy session for the next call while fewer than maxIdle wait; destroys it otherwise. */
        void giveBack(Session session, boolean healthy) {
            if (!healthy || idleCount.incrementAndGet() > maxIdle) {
                if (healthy) {
                    idleCount.decrementAndGet();
                }
                session.destroy();
                return;
            }
            if (retainedBytes.addAndGet(session.retained()) > maxRetainedBytes) {
                retainedBytes.addAndGet(-session.retained());
                session.dropBuffer();
            }
            idle.offer(session);
        }

        int idle() {
            return idleCount.get();
        }

        long retainedBytes() {
            return retainedBytes.get();
        }

        void destroyIdle() {
            for (Session session; (session = idle.poll()) != null; ) {
                idleCount.decrementAndGet();
                retainedBytes.addAndGet(-session.retained());
                session.destroy();
            }
        }
    }

    /** Idle sessions kept for reuse now (for tests). */
    int idleHandles() {
        return sessions.idle();
    }

    /** Bytes of native output buffer the idle sessions keep (for tests). */
    long retainedBytes() {
        return sessions.retainedBytes();
    }
}
