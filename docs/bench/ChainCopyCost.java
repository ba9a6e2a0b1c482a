// What a record costs to copy through its Flink serializer at each hop of the caption job's chain, as Flink does
// between chained operators without object reuse (loupe.object-reuse=false), per image of the given JPEG: thread CPU
// per copy and bytes allocated per copy, one hop per line, then the sum. With object reuse only the async fetch's own
// copy of its input (the validated request) is left. A file of a folder travels as its URI up to the fetch, one of an
// archive as inline bytes (add "inline"). From the repository root after building (README):
//   java -XX:+UseSerialGC -cp "jobs/target/loupe-jobs-0.1.0-SNAPSHOT.jar:jobs/target/lib/*" docs/bench/ChainCopyCost.java /tmp/cap640/img0000.jpg [inline]
import dev.loupe.flink.failure.Fallible;
import dev.loupe.flink.fetch.FetchedImage;
import dev.loupe.flink.inference.ImageThumbnail;
import dev.loupe.flink.inference.PreparedRequest;
import dev.loupe.flink.request.ValidatedRequest;
import dev.loupe.jobs.caption.SourcedImage;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.Prompts;
import dev.loupe.model.api.Task;
import dev.loupe.model.api.Thumbnail;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.ImageSource;
import dev.loupe.schemas.Timings;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeHint;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;

public class ChainCopyCost {
  record Hop(String name, Object value, TypeSerializer<Object> serializer) {}

  @SuppressWarnings("unchecked")
  static Hop hop(String name, Object value, TypeInformation<?> type) {
    return new Hop(name, value, (TypeSerializer<Object>) type.createSerializer(new SerializerConfigImpl()));
  }

  public static void main(String[] a) throws Exception {
    byte[] jpeg = Files.readAllBytes(Path.of(a[0]));
    boolean inline = a.length > 1 && a[1].equals("inline");
    int rounds = 2000;
    Map<String, String> metadata = Map.of("loupe.sequence", "0000000000000000:0000000001");
    AnnotationRequest request = AnnotationRequest.newBuilder().setId(a[0]).setTask(dev.loupe.schemas.Task.CAPTION)
        .setImage(inline ? ImageSource.newBuilder().setBytes(ByteBuffer.wrap(jpeg)).build()
            : ImageSource.newBuilder().setUri(Path.of(a[0]).toUri().toString()).build())
        .setMetadata(metadata).build();
    SourcedImage sourced = new SourcedImage(a[0], "0000000000000000:0000000001", request, null, null);
    ValidatedRequest validated = new ValidatedRequest(a[0], inline ? null : Path.of(a[0]).toUri().toString(),
        inline ? jpeg : null, Task.CAPTION, Prompts.CAPTION_TEMPLATE,
        List.of(), GenerationConfig.greedy(20), metadata);
    FetchedImage fetched = new FetchedImage(validated.withoutImageBytes(), jpeg, 0);
    PreparedRequest prepared = new PreparedRequest(fetched.request, jpeg,
        new ImageTensor(new float[3 * 224 * 224], 3, 224, 224), 0, 7);
    ImageThumbnail thumbnail = new ImageThumbnail(a[0], metadata, new Thumbnail(192, 144, new byte[192 * 144 * 3]));
    AnnotationResult result = AnnotationResult.newBuilder().setId(a[0]).setTask("caption")
        .setPrompt(Prompts.CAPTION_TEMPLATE).setText("a caption of twenty tokens or so, as the benchmark makes them")
        .setTokenIds(new ArrayList<>(List.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20)))
        .setModelId("m").setModelVersion("v").setTimings(new Timings(1L, 2L, 3L, 4L)).setBatchSize(16)
        .setMetadata(metadata).build();
    List<Hop> hops = List.of(
        hop("source -> mark-first-read (SourcedImage)", sourced, TypeInformation.of(SourcedImage.class)),
        hop("mark-first-read -> read-failures (SourcedImage)", sourced, TypeInformation.of(SourcedImage.class)),
        hop("read-failures -> validate (AnnotationRequest, Avro)", request, new AvroTypeInfo<>(AnnotationRequest.class)),
        hop("validate -> fetch (ValidatedRequest; copied with reuse too)", validated, TypeInformation.of(ValidatedRequest.class)),
        hop("fetch -> fetch-failures (Fallible<FetchedImage>)", Fallible.success(fetched), new TypeHint<Fallible<FetchedImage>>() {}.getTypeInfo()),
        hop("fetch-failures -> preprocess (FetchedImage)", fetched, TypeInformation.of(FetchedImage.class)),
        hop("preprocess -> inference (PreparedRequest)", prepared, TypeInformation.of(PreparedRequest.class)),
        hop("preprocess -> thumbnails (ImageThumbnail)", thumbnail, TypeInformation.of(ImageThumbnail.class)),
        hop("inference -> count-results (AnnotationResult, Avro)", result, new AvroTypeInfo<>(AnnotationResult.class)),
        hop("count-results -> result-rows (AnnotationResult, Avro)", result, new AvroTypeInfo<>(AnnotationResult.class)));
    var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long self = Thread.currentThread().getId();
    Object sink = null;
    System.out.printf("%s: %d bytes (%s up to the fetch); %d copies per hop after %d to warm up%n", a[0],
        jpeg.length, inline ? "inline" : "as its URI", rounds, rounds);
    double cpuSum = 0, bytesSum = 0;
    for (Hop h : hops) {
      for (int i = 0; i < rounds; i++) {
        sink = h.serializer.copy(h.value);
      }
      long c0 = threads.getCurrentThreadCpuTime(), b0 = threads.getThreadAllocatedBytes(self);
      for (int i = 0; i < rounds; i++) {
        sink = h.serializer.copy(h.value);
      }
      double cpu = (threads.getCurrentThreadCpuTime() - c0) / 1e3 / rounds;
      double bytes = (threads.getThreadAllocatedBytes(self) - b0) / (double) rounds;
      cpuSum += cpu;
      bytesSum += bytes;
      System.out.printf("  %-62s %8.1f us CPU %10.0f bytes%n", h.name, cpu, bytes);
    }
    System.out.printf("  %-62s %8.1f us CPU %10.0f bytes per image (%s)%n", "all hops", cpuSum, bytesSum,
        sink == null ? "" : "copied");
  }
}
