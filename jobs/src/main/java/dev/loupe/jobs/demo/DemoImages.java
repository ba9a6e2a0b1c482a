package dev.loupe.jobs.demo;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * The sample images of {@code loupe run --demo-images}: the image files of a folder, or a few small scenes the
 * project draws itself (Java2D, no download) into a folder that does not exist yet.
 */
public final class DemoImages {

    /** One sample image: its file and, for some, a question to ask about it. */
    public record Image(Path file, String question) {
        public String name() {
            return file.getFileName().toString();
        }
    }

    private static final Set<String> EXTENSIONS = Set.of("png", "jpg", "jpeg", "gif", "bmp", "webp");
    private static final String QUESTION = "What colour is the shape in the picture?";
    private static final int SIZE = 96;

    private record Scene(String name, Consumer<Graphics2D> draw) {}

    private static final List<Scene> SCENES = List.of(
            new Scene("red-ball-on-grass.png", g -> {
                fill(g, new Color(135, 190, 235), 0, 0, SIZE, SIZE);
                fill(g, new Color(70, 150, 60), 0, 64, SIZE, 32);
                g.setColor(new Color(210, 30, 30));
                g.fillOval(30, 34, 36, 36);
            }),
            new Scene("blue-square.png", g -> {
                fill(g, new Color(245, 240, 225), 0, 0, SIZE, SIZE);
                fill(g, new Color(40, 70, 200), 24, 24, 48, 48);
            }),
            new Scene("sun-over-sea.png", g -> {
                fill(g, new Color(250, 200, 120), 0, 0, SIZE, SIZE);
                g.setColor(new Color(255, 230, 40));
                g.fillOval(32, 16, 32, 32);
                fill(g, new Color(20, 90, 160), 0, 58, SIZE, 38);
                g.setColor(Color.WHITE);
                g.setStroke(new BasicStroke(2f));
                g.drawLine(10, 70, 30, 70);
                g.drawLine(55, 80, 85, 80);
            }));

    private DemoImages() {}

    /** Where the generated sample images live when no folder is given: {@code CACHE/demo/images}. */
    public static Path defaultFolder(Path cacheDir) {
        return cacheDir.resolve("demo").resolve("images");
    }

    /**
     * The images of {@code folder} in name order, every second one with a question; a folder that does not exist
     * is created with the generated sample images. IllegalArgumentException when it holds no image.
     */
    public static List<Image> prepare(Path folder) throws IOException {
        if (!Files.exists(folder)) {
            generate(folder);
        }
        if (!Files.isDirectory(folder)) {
            throw new IllegalArgumentException("--demo-images " + folder + " is not a folder");
        }
        List<Path> files;
        try (Stream<Path> list = Files.list(folder)) {
            files = list.filter(Files::isRegularFile).filter(DemoImages::isImage).sorted().toList();
        }
        if (files.isEmpty()) {
            throw new IllegalArgumentException("--demo-images " + folder + " holds no image (" + String.join(", ",
                    EXTENSIONS.stream().sorted().toList()) + ")");
        }
        List<Image> images = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            images.add(new Image(files.get(i).toRealPath(), i % 2 == 1 ? QUESTION : null));
        }
        return images;
    }

    /** Draws the sample scenes as PNG files into {@code folder} (created), written atomically. */
    public static void generate(Path folder) throws IOException {
        Files.createDirectories(folder);
        for (Scene scene : SCENES) {
            BufferedImage image = new BufferedImage(SIZE, SIZE, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = image.createGraphics();
            try {
                g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
                scene.draw().accept(g);
            } finally {
                g.dispose();
            }
            Path tmp = Files.createTempFile(folder, ".demo-", ".tmp");
            ImageIO.write(image, "png", tmp.toFile());
            Files.move(tmp, folder.resolve(scene.name()), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void fill(Graphics2D g, Color c, int x, int y, int w, int h) {
        g.setColor(c);
        g.fillRect(x, y, w, h);
    }

    private static boolean isImage(Path p) {
        String name = p.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return !name.startsWith(".") && dot > 0
                && EXTENSIONS.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
    }
}
