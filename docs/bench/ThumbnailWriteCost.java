// What writing one contact-sheet thumbnail costs `loupe caption`'s task thread (the thumbnail sink is chained to it):
// thread CPU and heap bytes allocated per thumbnail, ImageIO's JPEG writer against libjpeg-turbo's compressor
// (Thumbnails.imageIO() / Thumbnails.open()), alternating in rounds after a warm-up, over the RGB pixels of the
// JPEG thumbnails in a folder (e.g. a caption run's out/thumbs). From the repository root after building (README):
//   java -XX:+UseSerialGC -cp "jobs/target/loupe-jobs-0.1.0-SNAPSHOT.jar:jobs/target/lib/*" \
//       docs/bench/ThumbnailWriteCost.java /tmp/out/thumbs [rounds]
import dev.loupe.model.api.Thumbnail;
import java.awt.image.BufferedImage;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

public class ThumbnailWriteCost {
    public static void main(String[] args) throws Exception {
        Path folder = Path.of(args[0]);
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        List<Thumbnail> thumbs = new ArrayList<>();
        try (Stream<Path> files = Files.list(folder)) {
            for (Path p : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".jpg")).sorted()::iterator) {
                BufferedImage image = ImageIO.read(p.toFile());
                int w = image.getWidth(), h = image.getHeight();
                byte[] rgb = new byte[3 * w * h];
                int[] argb = image.getRGB(0, 0, w, h, null, 0, w);
                for (int i = 0; i < argb.length; i++) {
                    rgb[3 * i] = (byte) (argb[i] >> 16);
                    rgb[3 * i + 1] = (byte) (argb[i] >> 8);
                    rgb[3 * i + 2] = (byte) argb[i];
                }
                thumbs.add(new Thumbnail(w, h, rgb));
            }
        }
        // the writer classes are package-private in the caption job: reached reflectively from this one-file program
        Class<?> type = Class.forName("dev.loupe.jobs.caption.Thumbnails");
        Method imageIO = type.getDeclaredMethod("imageIO");
        Method open = type.getDeclaredMethod("open");
        Method write = type.getDeclaredMethod("write", Thumbnail.class, Path.class);
        Method close = type.getDeclaredMethod("close");
        for (Method m : new Method[] {imageIO, open, write, close}) {
            m.setAccessible(true);
        }
        Path out = Files.createTempDirectory("thumbnail-write-cost");
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long self = Thread.currentThread().getId();
        System.out.printf("%d thumbnails of %dx%d from %s; thread CPU ms and heap KB per thumbnail%n", thumbs.size(),
                thumbs.get(0).width(), thumbs.get(0).height(), folder);
        for (int round = 0; round <= rounds; round++) {
            for (Method factory : new Method[] {imageIO, open}) {
                Object writer = factory.invoke(null);
                long cpu0 = threads.getCurrentThreadCpuTime(), heap0 = threads.getThreadAllocatedBytes(self);
                for (int i = 0; i < thumbs.size(); i++) {
                    write.invoke(writer, thumbs.get(i), out.resolve(i + ".jpg"));
                }
                long cpu = threads.getCurrentThreadCpuTime() - cpu0, heap = threads.getThreadAllocatedBytes(self) - heap0;
                close.invoke(writer);
                System.out.printf("%s %-10s %6.3f ms %7.1f KB%n", round == 0 ? "warm-up" : "round " + round,
                        factory == open ? "turbojpeg" : "imageio", cpu / 1e6 / thumbs.size(), heap / 1e3 / thumbs.size());
            }
        }
        try (Stream<Path> files = Files.list(out)) {
            files.forEach(p -> p.toFile().delete());
        }
        Files.delete(out);
    }
}
