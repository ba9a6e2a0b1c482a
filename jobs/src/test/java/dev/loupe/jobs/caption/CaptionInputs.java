package dev.loupe.jobs.caption;

import dev.loupe.jobs.testing.Requests;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Tiny inputs for the caption tests: a folder, a tar, a tar.gz, a zip and a CSV manifest, with good images and the
 * usual bad ones (a text file named .jpg, a truncated JPEG, an entry over the byte limit, a missing file), and the
 * outcome each image should get, in output order.
 */
final class CaptionInputs {
    /** Byte limit the tests run with: the 16×16 images fit, the 48×48 one does not. */
    static final String MAX_BYTES = "3kb";
    static final String OK = "ok";

    final Path folder;
    final Path tar;
    final Path tarGz;
    final Path zip;
    final Path manifest;
    /** Image id to expected outcome (ok or error code), in output order. */
    final Map<String, String> expected = new LinkedHashMap<>();

    private CaptionInputs(Path root) throws IOException {
        folder = root.resolve("photos");
        Files.createDirectories(folder.resolve("sub"));
        Files.createDirectories(folder.resolve(".cache"));
        byte[] jpg = Requests.image(16, 16, "jpg", 3);
        Files.write(folder.resolve("a.png"), png(1));
        Files.write(folder.resolve("b.jpg"), jpg);
        Files.writeString(folder.resolve("notes.jpg"), "not an image, just text\n");
        Files.write(folder.resolve("sub/c.png"), png(2));
        Files.write(folder.resolve("sub/truncated.jpg"), Arrays.copyOf(jpg, jpg.length / 3));
        Files.write(folder.resolve(".cache/hidden.png"), png(9));   // skipped: hidden folder
        expected.put(folder + "/a.png", OK);
        expected.put(folder + "/b.jpg", OK);
        expected.put(folder + "/notes.jpg", "IMAGE_UNSUPPORTED_FORMAT");
        expected.put(folder + "/sub/c.png", OK);
        expected.put(folder + "/sub/truncated.jpg", "IMAGE_CORRUPT");

        tar = root.resolve("batch.tar");
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(Files.newOutputStream(tar))) {
            tarEntry(out, "./x/1.png", png(3));
            tarEntry(out, "x/big.png", Requests.image(48, 48, "png", 4));
            tarEntry(out, "x/2.jpg", Requests.image(16, 16, "jpg", 5));
            tarEntry(out, "x/._resource", new byte[] {0});   // skipped: hidden
        }
        expected.put(label(tar) + "!/x/1.png", OK);
        expected.put(label(tar) + "!/x/big.png", "IMAGE_TOO_LARGE");
        expected.put(label(tar) + "!/x/2.jpg", OK);

        tarGz = root.resolve("more.tar.gz");
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(new GZIPOutputStream(Files.newOutputStream(tarGz)))) {
            tarEntry(out, "g/1.png", png(6));
        }
        expected.put(label(tarGz) + "!/g/1.png", OK);

        zip = root.resolve("set.zip");
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(zip))) {
            out.putNextEntry(new ZipEntry("z/"));
            out.closeEntry();
            zipEntry(out, "z/1.png", png(7));
            zipEntry(out, "z/readme.txt", "hello".getBytes(StandardCharsets.UTF_8));
            zipEntry(out, "__MACOSX/z/._1.png", new byte[] {0});   // skipped
        }
        expected.put(label(zip) + "!/z/1.png", OK);
        expected.put(label(zip) + "!/z/readme.txt", "IMAGE_UNSUPPORTED_FORMAT");

        Path listed = root.resolve("listed");
        Files.createDirectories(listed);
        Files.write(listed.resolve("m1.png"), png(8));
        manifest = root.resolve("manifest.csv");
        Files.writeString(manifest, "image,note\nlisted/m1.png,first\nlisted/missing.png,gone\n,empty\n");
        expected.put("listed/m1.png", OK);
        expected.put("listed/missing.png", "IMAGE_NOT_FOUND");
        expected.put(label(manifest) + "#3", "INVALID_REQUEST");
    }

    /** Writes the inputs under {@code root}. */
    static CaptionInputs under(Path root) throws IOException {
        return new CaptionInputs(root);
    }

    /** The inputs as {@code --input} values: folder (relative to its parent, as a user types it) and files. */
    String[] inputArgs() {
        return new String[] {folder.toString(), tar.toString(), tarGz.toString(), zip.toString(), manifest.toString()};
    }

    private String label(Path p) {
        return p.toString();
    }

    static byte[] png(long seed) {
        return Requests.image(16, 16, "png", seed);
    }

    private static void tarEntry(TarArchiveOutputStream out, String name, byte[] bytes) throws IOException {
        TarArchiveEntry entry = new TarArchiveEntry(name);
        entry.setSize(bytes.length);
        out.putArchiveEntry(entry);
        out.write(bytes);
        out.closeArchiveEntry();
    }

    private static void zipEntry(ZipOutputStream out, String name, byte[] bytes) throws IOException {
        out.putNextEntry(new ZipEntry(name));
        out.write(bytes);
        out.closeEntry();
    }

}
