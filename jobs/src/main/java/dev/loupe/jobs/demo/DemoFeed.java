package dev.loupe.jobs.demo;

import dev.loupe.jobs.streaming.AcknowledgedSends;
import dev.loupe.jobs.streaming.JobSettings;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.ImageSource;
import dev.loupe.schemas.Task;
import dev.loupe.schemas.serde.ValueFormat;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * {@code loupe run --demo-images}: writes one request per sample image to the job's requests topic and prints
 * every committed result and dead letter that arrives from then on, one readable line each, until closed.
 */
public final class DemoFeed implements AutoCloseable {

    /** Request metadata key holding the image's file name, so output lines can name the image. */
    public static final String IMAGE_KEY = "demo.image";

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Thread printer;
    private final CountDownLatch finished = new CountDownLatch(1);
    private volatile boolean running = true;

    private DemoFeed(KafkaConsumer<byte[], byte[]> consumer, JobSettings settings, ValueFormat format,
            PrintStream out) {
        this.consumer = consumer;
        this.printer = new Thread(() -> print(settings, format, out), "loupe-demo-printer");
        this.printer.setDaemon(true);
    }

    /** Starts reading the output topics from their current end, then sends the requests for {@code images}. */
    public static DemoFeed start(JobSettings settings, List<DemoImages.Image> images, PrintStream out) {
        return start(settings, ValueFormat.PLAIN_AVRO, images, out);
    }

    /** As {@link #start(JobSettings, List, PrintStream)}, values in {@code format} (the job's). */
    public static DemoFeed start(JobSettings settings, ValueFormat format, List<DemoImages.Image> images,
            PrintStream out) {
        Properties c = settings.kafkaProperties().toProperties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        try {
            List<TopicPartition> partitions = new ArrayList<>();
            for (String topic : settings.allTopics().subList(1, settings.allTopics().size())) {
                consumer.partitionsFor(topic).forEach(i -> partitions.add(new TopicPartition(i.topic(), i.partition())));
            }
            consumer.assign(partitions);
            consumer.seekToEnd(partitions);
            partitions.forEach(consumer::position);   // fix the start before the requests go out
        } catch (RuntimeException e) {
            consumer.close();
            throw e;
        }
        DemoFeed feed = new DemoFeed(consumer, settings, format, out);
        feed.printer.start();
        try {
            send(settings, format, images, out);
        } catch (RuntimeException e) {
            feed.close();
            throw e;
        }
        return feed;
    }

    /** The request for one sample image: a caption, or the image's question (task vqa). */
    static AnnotationRequest request(DemoImages.Image image) {
        AnnotationRequest.Builder b = AnnotationRequest.newBuilder()
                .setId("demo-" + UUID.randomUUID().toString().substring(0, 8) + "-" + image.name())
                .setImage(ImageSource.newBuilder().setUri(image.file().toUri().toString()).build())
                .setMetadata(Map.of(IMAGE_KEY, image.name()));
        if (image.question() != null) {
            b.setTask(Task.VQA).setQuestion(image.question());
        } else {
            b.setTask(Task.CAPTION);
        }
        return b.build();
    }

    private static void send(JobSettings settings, ValueFormat format, List<DemoImages.Image> images,
            PrintStream out) {
        Properties p = settings.kafkaProperties().toProperties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        AcknowledgedSends.orderedProducer(p); // the requests topic may have been created a moment ago
        Serializer<AnnotationRequest> values = format.serializer(AnnotationRequest.class);
        try (var producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
            AcknowledgedSends<String, byte[]> sends = new AcknowledgedSends<>(producer);
            for (DemoImages.Image image : images) {
                AnnotationRequest r = request(image);
                sends.send(new ProducerRecord<>(settings.requestsTopic(), r.getId(),
                        values.serialize(settings.requestsTopic(), r)), r.getId());
            }
            sends.awaitAll();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while sending the demo requests", e);
        }
        out.println("loupe run: sent " + images.size() + " demo request(s) for the images in "
                + images.get(0).file().getParent() + " to " + settings.requestsTopic()
                + "; results appear as each checkpoint commits them");
        out.flush();
    }

    private void print(JobSettings settings, ValueFormat format, PrintStream out) {
        Deserializer<AnnotationResult> results = format.deserializer(AnnotationResult.class);
        Deserializer<AnnotationFailure> failures = format.deserializer(AnnotationFailure.class);
        try {
            while (running) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    String line;
                    try {
                        line = r.topic().equals(settings.deadLetterTopic())
                                ? describe(failures.deserialize(r.topic(), r.value()))
                                : describe(results.deserialize(r.topic(), r.value()));
                    } catch (RuntimeException e) {
                        line = "undecodable record on " + r.topic() + ": " + e.getMessage();
                    }
                    out.println(line);
                    out.flush();
                }
            }
        } catch (WakeupException stopping) {
            // closed
        } finally {
            consumer.close();
            finished.countDown();
        }
    }

    /** One line for a result: image (or id), task, text, score, batch size and inference time. */
    static String describe(AnnotationResult r) {
        StringBuilder s = new StringBuilder("result      ").append(label(r.getId(), r.getMetadata()))
                .append("  ").append(r.getTask().toLowerCase(Locale.ROOT));
        if (r.getPrompt() != null && r.getTask().equalsIgnoreCase("vqa")) {
            s.append(" (").append(r.getPrompt().replace('\n', ' ')).append(')');
        }
        s.append(": \"").append(r.getText().replace("\n", "\\n")).append('"');
        if (r.getScore() != null) {
            s.append(String.format(Locale.ROOT, "  score %.3f", r.getScore()));
        }
        s.append("  batch ").append(r.getBatchSize());
        if (r.getTimings() != null) {
            s.append("  inference ").append(r.getTimings().getInferenceMillis()).append(" ms");
        }
        return s.toString();
    }

    /** One line for a dead letter: image (or id), stage, error code and message. */
    static String describe(AnnotationFailure f) {
        return "dead letter " + label(f.getId(), f.getMetadata()) + "  " + f.getErrorCode() + " at " + f.getStage()
                + ": " + f.getMessage();
    }

    private static String label(String id, Map<String, String> metadata) {
        String image = metadata == null ? null : metadata.get(IMAGE_KEY);
        return image != null ? image : (id == null ? "(no id)" : id);
    }

    /** Stops printing. */
    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            finished.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
