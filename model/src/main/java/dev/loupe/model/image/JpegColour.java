package dev.loupe.model.image;

import java.awt.image.ComponentSampleModel;
import java.awt.image.DataBufferByte;
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
        return rows(raster, stored).toImage();
    }

    /** The image as rows converted on demand where the layout allows it, else converted whole. */
    static RgbRows rows(Raster raster, JpegStructure.Stored stored) {
        if (raster.getSampleModel() instanceof ComponentSampleModel && raster.getDataBuffer() instanceof DataBufferByte
                && (stored == JpegStructure.Stored.YCBCR || stored == JpegStructure.Stored.GREY
                || stored == JpegStructure.Stored.RGB)) {
            return byteRows(raster, stored);
        }
        return RgbRows.of(convertPixels(raster, stored));
    }

    /** The common case, three or one 8-bit components in a byte array: read in place, row by row. */
    private static RgbRows byteRows(Raster raster, JpegStructure.Stored stored) {
        ComponentSampleModel sm = (ComponentSampleModel) raster.getSampleModel();
        DataBufferByte db = (DataBufferByte) raster.getDataBuffer();
        int bands = stored == JpegStructure.Stored.GREY ? 1 : 3;
        byte[][] data = new byte[3][];
        int[] off = new int[3];
        for (int b = 0; b < 3; b++) {
            int band = Math.min(b, bands - 1);
            int bank = sm.getBankIndices()[band];
            data[b] = db.getData(bank);
            off[b] = db.getOffsets()[bank] + sm.getBandOffsets()[band];
        }
        int pixelStride = sm.getPixelStride();
        int scanStride = sm.getScanlineStride();
        int x0 = raster.getMinX() - raster.getSampleModelTranslateX();
        int y0 = raster.getMinY() - raster.getSampleModelTranslateY();
        byte[] d0 = data[0];
        byte[] d1 = data[1];
        byte[] d2 = data[2];
        boolean ycc = stored == JpegStructure.Stored.YCBCR;
        return new RgbRows(raster.getWidth(), raster.getHeight()) {
            @Override
            void row(int y, byte[] out, int o) {
                int p = (y0 + y) * scanStride + x0 * pixelStride;
                int end = o + 3 * width;
                if (ycc) {
                    for (; o < end; p += pixelStride, o += 3) {
                        int yy = d0[p + off[0]] & 0xFF;
                        int cb = d1[p + off[1]] & 0xFF;
                        int cr = d2[p + off[2]] & 0xFF;
                        out[o] = clip8(yy + CR_R[cr]);
                        out[o + 1] = clip8(yy + ((CB_G[cb] + CR_G[cr]) >> SCALEBITS));
                        out[o + 2] = clip8(yy + CB_B[cb]);
                    }
                } else {
                    // RGB, or grey with all three "bands" pointing at the one grey band.
                    int o0 = off[0];
                    int o1 = off[1];
                    int o2 = off[2];
                    for (; o < end; p += pixelStride, o += 3) {
                        out[o] = d0[p + o0];
                        out[o + 1] = d1[p + o1];
                        out[o + 2] = d2[p + o2];
                    }
                }
            }

            @Override
            void planes(int y, int[] r, int[] g, int[] b, byte[] scratch) {
                if (!ycc) {
                    super.planes(y, r, g, b, scratch);
                    return;
                }
                int p = (y0 + y) * scanStride + x0 * pixelStride;
                for (int x = 0; x < width; x++, p += pixelStride) {
                    int yy = d0[p + off[0]] & 0xFF;
                    int cb = d1[p + off[1]] & 0xFF;
                    int cr = d2[p + off[2]] & 0xFF;
                    r[x] = clip(yy + CR_R[cr]);
                    g[x] = clip(yy + ((CB_G[cb] + CR_G[cr]) >> SCALEBITS));
                    b[x] = clip(yy + CB_B[cb]);
                }
            }
        };
    }

    /** Any layout and colour space (CMYK, YCCK included), pixel by pixel through {@code Raster.getPixel}. */
    static RgbImage convertPixels(Raster raster, JpegStructure.Stored stored) {
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

    /** libjpeg's YCbCr-to-RGB of one pixel, written as R, G, B at {@code out[o]}. */
    static void yccToRgb(int yy, int cb, int cr, byte[] out, int o) {
        out[o] = clip8(yy + CR_R[cr]);
        out[o + 1] = clip8(yy + ((CB_G[cb] + CR_G[cr]) >> SCALEBITS));
        out[o + 2] = clip8(yy + CB_B[cb]);
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

    private static byte clip8(int v) {
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    private static int clip(int v) {
        return v < 0 ? 0 : Math.min(v, 255);
    }
}
