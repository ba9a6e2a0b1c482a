package dev.loupe.model.image;

import java.awt.image.Raster;

/**
 * Converts a JPEG's raw decoded samples (as {@code ImageReader.readRaster} returns them, before any colour
 * conversion or ICC profile) to RGB with libjpeg's fixed-point YCbCr tables, then, for four-channel files,
 * as Pillow does: it always treats CMYK JPEG data as Adobe-inverted ({@code CMYK;I}) and converts CMYK to
 * RGB with its naive formula.
 */
final class JpegColour {
    private static final int SCALEBITS = 16;
    private static final int ONE_HALF = 1 << (SCALEBITS - 1);
    private static final int[] CR_R = new int[256];
    private static final int[] CB_B = new int[256];
    private static final int[] CR_G = new int[256];
    private static final int[] CB_G = new int[256];

    static {
        for (int i = 0; i < 256; i++) {
            int x = i - 128;
            CR_R[i] = (fix(1.40200) * x + ONE_HALF) >> SCALEBITS;
            CB_B[i] = (fix(1.77200) * x + ONE_HALF) >> SCALEBITS;
            CR_G[i] = -fix(0.71414) * x;
            CB_G[i] = -fix(0.34414) * x + ONE_HALF;
        }
    }

    private JpegColour() {
    }

    private static int fix(double v) {
        return (int) (v * (1L << SCALEBITS) + 0.5);
    }

    static RgbImage convert(Raster raster, JpegStructure.Stored stored) {
        int w = raster.getWidth();
        int h = raster.getHeight();
        int bands = raster.getNumBands();
        byte[] out = new byte[w * h * 3];
        int[] px = new int[bands];
        int[] rgb = new int[3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                raster.getPixel(raster.getMinX() + x, raster.getMinY() + y, px);
                int o = (y * w + x) * 3;
                switch (stored) {
                    case GREY:
                        rgb[0] = rgb[1] = rgb[2] = px[0];
                        break;
                    case RGB:
                        rgb[0] = px[0];
                        rgb[1] = px[1];
                        rgb[2] = px[2];
                        break;
                    case YCBCR:
                        ycc(px[0], px[1], px[2], rgb);
                        break;
                    case CMYK:
                        // Pillow reads CMYK;I: ink = 255 - stored.
                        cmykToRgb(255 - px[0], 255 - px[1], 255 - px[2], 255 - px[3], rgb);
                        break;
                    case YCCK: {
                        // libjpeg yields (255 - R, 255 - G, 255 - B, K) from YCCK; Pillow then inverts it.
                        ycc(px[0], px[1], px[2], rgb);
                        cmykToRgb(rgb[0], rgb[1], rgb[2], 255 - px[3], rgb);
                        break;
                    }
                    default:
                        throw new RasterToRgb.UnsupportedLayout("unsupported JPEG colour layout " + stored);
                }
                out[o] = (byte) rgb[0];
                out[o + 1] = (byte) rgb[1];
                out[o + 2] = (byte) rgb[2];
            }
        }
        return new RgbImage(w, h, out);
    }

    private static void ycc(int yy, int cb, int cr, int[] rgb) {
        rgb[0] = clip(yy + CR_R[cr]);
        rgb[1] = clip(yy + ((CB_G[cb] + CR_G[cr]) >> SCALEBITS));
        rgb[2] = clip(yy + CB_B[cb]);
    }

    /** Pillow's cmyk2rgb on ink values. */
    static void cmykToRgb(int c, int m, int yel, int k, int[] rgb) {
        int nk = 255 - k;
        rgb[0] = clip(nk - mulDiv255(c, nk));
        rgb[1] = clip(nk - mulDiv255(m, nk));
        rgb[2] = clip(nk - mulDiv255(yel, nk));
    }

    /** Pillow's MULDIV255: a * b / 255, rounded, with its shift trick. */
    static int mulDiv255(int a, int b) {
        int t = a * b + 128;
        return ((t >> 8) + t) >> 8;
    }

    private static int clip(int v) {
        return v < 0 ? 0 : Math.min(v, 255);
    }
}
