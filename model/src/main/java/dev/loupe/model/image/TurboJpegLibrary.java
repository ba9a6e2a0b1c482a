package dev.loupe.model.image;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;

/**
 * The part of libjpeg-turbo's TurboJPEG C API (version 2.x, {@code turbojpeg.h}) that decoding and the thumbnails'
 * compression need, bound with JNA
 * direct mapping (the cheapest JNA call path). {@link #bind} links these methods once per class loader; nothing may
 * call them before it returned normally. Handles are not thread-safe: one thread at a time per handle.
 */
final class TurboJpegLibrary {
    /** {@code TJPF_RGB}: 3 bytes per pixel, R, G, B. */
    static final int TJPF_RGB = 0;
    /** {@code TJPF_GRAY}: 1 byte per pixel. */
    static final int TJPF_GRAY = 6;

    static final int TJCS_RGB = 0;
    static final int TJCS_YCBCR = 1;
    static final int TJCS_GRAY = 2;

    /**
     * {@code TJFLAG_ACCURATEDCT}: libjpeg's accurate integer DCT (ISLOW): decoding, the IDCT Pillow (and IJG libjpeg
     * 6b) use by default; compressing, the FDCT ImageIO's writer uses (TurboJPEG otherwise takes the fast one below
     * quality 96).
     */
    static final int TJFLAG_ACCURATEDCT = 4096;
    /** {@code TJFLAG_STOPONWARNING}: a libjpeg warning (damaged data) fails the call instead of being ignored. */
    static final int TJFLAG_STOPONWARNING = 8192;

    /** {@code TJSAMP_420}: chroma halved both ways, as ImageIO's writer does for a 3-channel image. */
    static final int TJSAMP_420 = 2;
    /** {@code TJFLAG_NOREALLOC}: compress into the buffer given (sized by {@code tjBufSize}); never reallocate it. */
    static final int TJFLAG_NOREALLOC = 1024;

    private TurboJpegLibrary() {
    }

    /** Links the native methods below to {@code library}; throws (an Error, typically) when a symbol is missing. */
    static void bind(NativeLibrary library) {
        Native.register(TurboJpegLibrary.class, library);
    }

    static native Pointer tjInitDecompress();

    static native int tjDecompressHeader3(Pointer handle, Pointer jpegBuf, NativeLong jpegSize, int[] width,
                                          int[] height, int[] jpegSubsamp, int[] jpegColorspace);

    /** An array of {@code numScalingFactors[0]} structs {@code {int num; int denom;}}, owned by the library. */
    static native Pointer tjGetScalingFactors(int[] numScalingFactors);

    static native int tjDecompress2(Pointer handle, Pointer jpegBuf, NativeLong jpegSize, Pointer dstBuf, int width,
                                    int pitch, int height, int pixelFormat, int flags);

    static native Pointer tjInitCompress();

    /** {@code jpegBuf}: the address of the output buffer ({@code unsigned char **}); {@code jpegSize} its size. */
    static native int tjCompress2(Pointer handle, byte[] srcBuf, int width, int pitch, int height, int pixelFormat,
                                  long[] jpegBuf, long[] jpegSize, int jpegSubsamp, int jpegQual, int flags);

    static native NativeLong tjBufSize(int width, int height, int jpegSubsamp);

    static native String tjGetErrorStr2(Pointer handle);

    static native int tjDestroy(Pointer handle);
}
