package dev.loupe.cli;

import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** An image size given on the command line as {@code WIDTHxHEIGHT} (e.g. {@code 640x480}), both positive. */
record ImageSize(int width, int height) {

    /** Reads {@code WIDTHxHEIGHT} for picocli options. */
    static final class Converter implements ITypeConverter<ImageSize> {
        @Override
        public ImageSize convert(String value) {
            String[] wh = value.strip().toLowerCase(Locale.ROOT).split("x");
            try {
                if (wh.length == 2) {
                    int width = Integer.parseInt(wh[0].strip());
                    int height = Integer.parseInt(wh[1].strip());
                    if (width > 0 && height > 0) {
                        return new ImageSize(width, height);
                    }
                }
            } catch (NumberFormatException e) {
                // refused below
            }
            throw new TypeConversionException("'" + value + "' is not WIDTHxHEIGHT (e.g. 640x480)");
        }
    }
}
