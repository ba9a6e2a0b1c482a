package dev.loupe.model.image;

import java.awt.color.ColorSpace;
import java.awt.image.ColorModel;
import java.awt.image.ComponentSampleModel;
import java.awt.image.DataBufferByte;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;

/**
 * Turns a decoded raster into 8-bit RGB the way Pillow's {@code convert("RGB")} treats the mode Pillow
 * would have opened the file in: palette lookup, grey replicated, alpha dropped, 16-bit colour reduced to
 * its high byte, 16-bit grey clipped at 255, low bit depths scaled up, CMYK by Pillow's naive formula.
 *
 * <p>The common layouts (8-bit samples in one byte array: RGB(A), grey(+alpha), 8-bit palette indices) are read
 * straight from the raster's array; anything else goes through {@code Raster.getSamples} row by row. Both give
 * the same values.
 */
final class RasterToRgb {
    private RasterToRgb() {
    }

    /** The decoded image has a colour layout with no Pillow-defined conversion to RGB here. */
    static final class UnsupportedLayout extends IllegalArgumentException {
        UnsupportedLayout(String message) {
            super(message);
        }
    }

    static RgbImage convert(Raster raster, ColorModel cm) {
        return rows(raster, cm).toImage();
    }

    /** The image as rows converted on demand where the layout allows it, else converted whole. */
    static RgbRows rows(Raster raster, ColorModel cm) {
        RgbRows direct = byteRows(raster, cm);
        return direct != null ? direct : RgbRows.of(convertSamples(raster, cm));
    }

    /** 8-bit samples in a byte array, read in place; null for other layouts. */
    static RgbRows byteRows(Raster raster, ColorModel cm) {
        if (!(raster.getSampleModel() instanceof ComponentSampleModel) || !(raster.getDataBuffer() instanceof DataBufferByte)) {
            return null;
        }
        ComponentSampleModel sm = (ComponentSampleModel) raster.getSampleModel();
        for (int size : sm.getSampleSize()) {
            if (size != 8) {
                return null;
            }
        }
        int[] src; // the bands that give R, G and B
        byte[] red = null;
        byte[] green = null;
        byte[] blue = null;
        if (cm instanceof IndexColorModel) {
            if (raster.getNumBands() != 1) {
                return null;
            }
            IndexColorModel icm = (IndexColorModel) cm;
            red = new byte[256];
            green = new byte[256];
            blue = new byte[256];
            try {
                for (int i = 0; i < 256; i++) {
                    red[i] = (byte) icm.getRed(i);
                    green[i] = (byte) icm.getGreen(i);
                    blue[i] = (byte) icm.getBlue(i);
                }
            } catch (RuntimeException e) {
                return null; // a short palette: leave the out-of-range indices to the general path
            }
            src = new int[]{0, 0, 0};
        } else {
            int colourBands = cm.getNumColorComponents();
            int spaceType = cm.getColorSpace().getType();
            if (colourBands == 1 && spaceType != ColorSpace.TYPE_CMYK) {
                src = new int[]{0, 0, 0};
            } else if (colourBands == 3 && spaceType == ColorSpace.TYPE_RGB) {
                src = new int[]{0, 1, 2};
            } else {
                return null;
            }
        }
        DataBufferByte db = (DataBufferByte) raster.getDataBuffer();
        int[] banks = sm.getBankIndices();
        int[] bandOffsets = sm.getBandOffsets();
        int pixelStride = sm.getPixelStride();
        int scanStride = sm.getScanlineStride();
        int w = raster.getWidth();
        int h = raster.getHeight();
        int x0 = raster.getMinX() - raster.getSampleModelTranslateX();
        int y0 = raster.getMinY() - raster.getSampleModelTranslateY();
        byte[] d0 = db.getData(banks[src[0]]);
        byte[] d1 = db.getData(banks[src[1]]);
        byte[] d2 = db.getData(banks[src[2]]);
        int o0 = db.getOffsets()[banks[src[0]]] + bandOffsets[src[0]];
        int o1 = db.getOffsets()[banks[src[1]]] + bandOffsets[src[1]];
        int o2 = db.getOffsets()[banks[src[2]]] + bandOffsets[src[2]];
        byte[] rTable = red;
        byte[] gTable = green;
        byte[] bTable = blue;
        return new RgbRows(w, h) {
            @Override
            void row(int y, byte[] out, int o) {
                int p = (y0 + y) * scanStride + x0 * pixelStride;
                int end = o + 3 * width;
                if (rTable != null) {
                    for (; o < end; p += pixelStride, o += 3) {
                        int i = d0[p + o0] & 0xFF;
                        out[o] = rTable[i];
                        out[o + 1] = gTable[i];
                        out[o + 2] = bTable[i];
                    }
                } else {
                    for (; o < end; p += pixelStride, o += 3) {
                        out[o] = d0[p + o0];
                        out[o + 1] = d1[p + o1];
                        out[o + 2] = d2[p + o2];
                    }
                }
            }

            @Override
            void planes(int y, int[] r, int[] g, int[] b, byte[] scratch) {
                if (rTable != null) {
                    super.planes(y, r, g, b, scratch);
                    return;
                }
                int p = (y0 + y) * scanStride + x0 * pixelStride;
                for (int x = 0; x < width; x++, p += pixelStride) {
                    r[x] = d0[p + o0] & 0xFF;
                    g[x] = d1[p + o1] & 0xFF;
                    b[x] = d2[p + o2] & 0xFF;
                }
            }
        };
    }

    /** Any layout, through {@code Raster.getSamples}. */
    static RgbImage convertSamples(Raster raster, ColorModel cm) {
        int w = raster.getWidth();
        int h = raster.getHeight();
        int x0 = raster.getMinX();
        int y0 = raster.getMinY();
        byte[] out = new byte[w * h * 3];
        if (cm instanceof IndexColorModel) {
            IndexColorModel icm = (IndexColorModel) cm;
            int[] index = new int[w];
            for (int y = 0; y < h; y++) {
                raster.getSamples(x0, y0 + y, w, 1, 0, index);
                for (int x = 0; x < w; x++) {
                    int o = (y * w + x) * 3;
                    int i = index[x];
                    out[o] = (byte) icm.getRed(i);
                    out[o + 1] = (byte) icm.getGreen(i);
                    out[o + 2] = (byte) icm.getBlue(i);
                }
            }
            return new RgbImage(w, h, out);
        }
        int colourBands = cm.getNumColorComponents();
        int spaceType = cm.getColorSpace().getType();
        int bits = raster.getSampleModel().getSampleSize(0);
        boolean hasAlpha = cm.hasAlpha();
        int[][] band = new int[raster.getNumBands()][w];
        int[] rgb = new int[3];
        for (int y = 0; y < h; y++) {
            for (int b = 0; b < colourBands; b++) {
                raster.getSamples(x0, y0 + y, w, 1, b, band[b]);
            }
            for (int x = 0; x < w; x++) {
                int o = (y * w + x) * 3;
                if (spaceType == ColorSpace.TYPE_CMYK && colourBands == 4) {
                    JpegColour.cmykToRgb(to8(band[0][x], bits, false), to8(band[1][x], bits, false),
                            to8(band[2][x], bits, false), to8(band[3][x], bits, false), rgb);
                    out[o] = (byte) rgb[0];
                    out[o + 1] = (byte) rgb[1];
                    out[o + 2] = (byte) rgb[2];
                } else if (colourBands == 1) {
                    // Pillow opens 16-bit grey as I;16 and clips it; grey + alpha keeps the high byte.
                    byte v = (byte) to8(band[0][x], bits, bits == 16 && !hasAlpha);
                    out[o] = v;
                    out[o + 1] = v;
                    out[o + 2] = v;
                } else if (colourBands == 3 && spaceType == ColorSpace.TYPE_RGB) {
                    for (int c = 0; c < 3; c++) {
                        out[o + c] = (byte) to8(band[c][x], bits(raster, c), false);
                    }
                } else {
                    throw new UnsupportedLayout("unsupported colour model: " + colourBands
                            + " colour components in colour space type " + spaceType);
                }
            }
        }
        return new RgbImage(w, h, out);
    }

    private static int bits(Raster raster, int band) {
        return raster.getSampleModel().getSampleSize(band);
    }

    /** One sample to 0..255: 8 bits as is, 16 bits by high byte (or clipped), other depths scaled. */
    private static int to8(int v, int bits, boolean clip16) {
        if (bits == 8) {
            return v;
        }
        if (bits == 16) {
            return clip16 ? Math.min(v, 255) : v >> 8;
        }
        int max = (1 << bits) - 1;
        return v * 255 / max; // truncating, as Pillow unpacks 5- and 6-bit samples
    }
}
