package dev.loupe.model.image;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Tests that need libturbojpeg get it here: where the environment variable {@value #REQUIRED} is {@code true} (CI,
 * see .ci/run, which installs libturbojpeg0) a missing library fails them; elsewhere they are skipped, saying why.
 */
final class TurboJpeg {
    static final String REQUIRED = "LOUPE_TURBOJPEG_REQUIRED";

    private TurboJpeg() {
    }

    static TurboJpegDecoder required() {
        TurboJpegDecoder turbo = TurboJpegDecoder.shared();
        if (turbo == null) {
            if ("true".equalsIgnoreCase(System.getenv(REQUIRED))) {
                Assertions.fail(REQUIRED + "=true but " + TurboJpegDecoder.activeDecoder());
            }
            Assumptions.abort("libturbojpeg is not installed here: " + TurboJpegDecoder.activeDecoder());
        }
        return turbo;
    }
}
