package dev.loupe.jobs;

import dev.loupe.model.files.FileTrees;
import dev.loupe.model.tools.RandomInstructBlipCheckpoint;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The model {@code loupe run} uses when none is given: a tiny random-weight InstructBLIP-Vicuna checkpoint that
 * the project generates itself (no download), so the pipeline runs end to end on a fresh machine. Its text is
 * meaningless by construction.
 */
public final class DemoModel {
    private static final long SEED = 20230511L;

    private DemoModel() {}

    /** The demo checkpoint under {@code cacheDir}, written on first use. */
    public static Path ensure(Path cacheDir) throws IOException {
        Path dir = cacheDir.resolve("demo").resolve("tiny-instructblip-vicuna");
        if (Files.isRegularFile(dir.resolve("config.json"))) {
            return dir;
        }
        Files.createDirectories(dir.getParent());
        Path tmp = Files.createTempDirectory(dir.getParent(), ".tiny-");
        RandomInstructBlipCheckpoint.write(tmp, RandomInstructBlipCheckpoint.Dims.tiny(), SEED);
        try {
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException raced) {
            // another process wrote it first; use theirs
            FileTrees.deleteRecursively(tmp);
        }
        return dir;
    }
}
