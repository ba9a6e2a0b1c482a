package dev.loupe.config;

import dev.loupe.flink.LoupeOptions;
import java.nio.file.Path;

/**
 * The flags several jobs and commands share (batching, parallelism, checkpoints, restarts, fetch limits, the model
 * runtime), each a view of its option.
 */
public final class CommonFlags {

    private CommonFlags() {}

    public static final Flag BATCH_SIZE = Flag.value("--batch-size", LoupeOptions.BATCH_MAX_SIZE).label("N");

    public static final Flag BATCH_DELAY = Flag.value("--batch-delay", LoupeOptions.BATCH_MAX_DELAY).label("DURATION");

    public static final Flag SCHEDULING =
            Flag.value("--scheduling", LoupeOptions.BATCH_SCHEDULING).label("static|continuous");

    public static final Flag PARALLELISM = Flag.value("--parallelism", JobOptions.PARALLELISM).label("N");

    public static final Flag CHECKPOINT_INTERVAL =
            Flag.value("--checkpoint-interval", JobOptions.CHECKPOINT_INTERVAL).label("DURATION");

    public static final Flag RESTART_ATTEMPTS = Flag.value("--restart-attempts", JobOptions.RESTART_ATTEMPTS).label("N");

    /** Folders {@code file:} images may be read from; each given folder is made absolute. */
    public static final Flag ALLOWED_ROOT = Flag.list("--allowed-root", LoupeOptions.FETCH_FILE_ROOTS).label("DIR")
            .converting(dir -> Path.of(dir).toAbsolutePath().normalize().toString());

    public static final Flag ALLOWED_HOST =
            Flag.list("--allowed-host", LoupeOptions.FETCH_ALLOWED_HOSTS).label("HOST|IP|CIDR");

    public static final Flag DEVICE = Flag.value("--device", ModelOptions.DEVICE).label("cpu|cuda|cuda:N");

    public static final Flag THREADS = Flag.value("--threads", ModelOptions.THREADS).label("N");

    public static final Flag RUNNER = Flag.value("--runner", ModelOptions.RUNNER).label("auto|ort-java|device-bound");
}
