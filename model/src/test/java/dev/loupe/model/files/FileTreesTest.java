package dev.loupe.model.files;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileTreesTest {
    @TempDir
    Path tmp;

    @Test
    void deletesATreeWithItsLinksButNotWhatTheyPointTo() throws Exception {
        Path kept = Files.writeString(tmp.resolve("kept.txt"), "x");
        Path tree = tmp.resolve("tree");
        Files.createDirectories(tree.resolve("a/b"));
        Files.writeString(tree.resolve("a/b/file"), "y");
        Files.writeString(tree.resolve("top"), "z");
        Files.createSymbolicLink(tree.resolve("a/link"), tmp);
        Files.createSymbolicLink(tree.resolve("fileLink"), kept);

        FileTrees.deleteRecursively(tree);

        assertThat(tree).doesNotExist();
        assertThat(kept).hasContent("x");
    }

    @Test
    void aMissingTreeIsNothingToDo() throws Exception {
        FileTrees.deleteRecursively(tmp.resolve("never-made"));
        assertThat(tmp).exists();
    }

    @Test
    void entriesRemovedByOthersDuringTheWalkDoNotStopTheRest() throws Exception {
        Path tree = tmp.resolve("tree");
        for (int i = 0; i < 200; i++) {
            Files.createDirectories(tree.resolve("checkpoints/chk-" + i));
            Files.writeString(tree.resolve("checkpoints/chk-" + i + "/_metadata"), "m");
        }
        Files.writeString(tree.resolve("command.txt"), "c");
        Thread other = new Thread(() -> {   // as Flink discarding checkpoints while the job's folder is removed
            for (int i = 199; i >= 0; i--) {
                try {
                    FileTrees.deleteRecursively(tree.resolve("checkpoints/chk-" + i));
                } catch (Exception ignored) {
                    // the walk below may have taken it first
                }
            }
        });
        other.start();
        FileTrees.deleteRecursively(tree);
        other.join();

        assertThat(tree).doesNotExist();
    }
}
