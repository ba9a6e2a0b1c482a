package dev.loupe.cli;

import dev.loupe.config.JobOptions;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.ImageSource;
import dev.loupe.schemas.Task;
import dev.loupe.schemas.serde.ValueFormat;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code loupe send}: writes one request per image to the requests topic, since the values are plain Avro (or, with
 * {@code --schema-registry}, in the registry wire format) and Kafka's console producer cannot write them. Prints the
 * request ids, one per line.
 */
@Command(name = "send", mixinStandardHelpOptions = true,
        description = "Send annotation requests (one per image) to the streaming job's requests topic.")
public final class SendCommand implements Callable<Integer>, KafkaClientCommand {

    @Option(names = "--bootstrap-servers", required = true, paramLabel = "HOST:PORT[,...]",
            description = "Kafka (loupe run prints the embedded broker's address).")
    String bootstrapServers;

    @Option(names = "--topic", paramLabel = "TOPIC", description = "Default: ${DEFAULT-VALUE}.")
    String topic = JobOptions.REQUESTS_TOPIC.defaultValue();

    @Option(names = "--image", required = true, paramLabel = "FILE|URI",
            description = "A local file (sent as a file: URI, or its bytes with --inline) or a URI (repeatable).")
    List<String> images = new ArrayList<>();

    @Option(names = "--inline", description = "Send local files' bytes in the request instead of their URI.")
    boolean inline;

    @Option(names = "--task", paramLabel = "TASK", description = "caption, vqa or rank. Default: caption.")
    String task = "caption";

    @Option(names = "--prompt", paramLabel = "TEXT", description = "Verbatim prompt.")
    String prompt;

    @Option(names = "--question", paramLabel = "TEXT", description = "Question for task vqa.")
    String question;

    @Option(names = "--candidate", paramLabel = "TEXT", description = "Answer to score for task rank (repeatable).")
    List<String> candidates = new ArrayList<>();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public CommandLine.Model.CommandSpec spec() {
        return spec;
    }

    @Override
    public Integer call() throws Exception {
        Properties p;
        ValueFormat format;
        try {
            p = kafkaProperties().toProperties();
            format = valueFormat();
        } catch (IllegalArgumentException e) {
            System.err.println("loupe send: " + e.getMessage());
            return 2;
        }
        Task parsedTask;
        try {
            parsedTask = Task.valueOf(task.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            System.err.println("loupe send: unknown task '" + task + "' (caption, vqa, rank)");
            return 2;
        }
        List<AnnotationRequest> requests = new ArrayList<>();
        for (String image : images) {
            ImageSource.Builder source = ImageSource.newBuilder();
            boolean isUri = image.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:.*") && !Files.exists(Path.of(image));
            if (isUri) {
                source.setUri(image);
            } else {
                Path file = Path.of(image).toAbsolutePath().normalize();
                if (!Files.isRegularFile(file)) {
                    System.err.println("loupe send: no such file: " + image);
                    return 2;
                }
                if (inline) {
                    source.setBytes(ByteBuffer.wrap(Files.readAllBytes(file)));
                } else {
                    source.setUri(file.toUri().toString());
                }
            }
            requests.add(AnnotationRequest.newBuilder()
                    .setId(UUID.randomUUID().toString())
                    .setImage(source.build())
                    .setTask(parsedTask)
                    .setPrompt(prompt)
                    .setQuestion(question)
                    .setCandidates(candidates)
                    .build());
        }
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        Serializer<AnnotationRequest> values = format.serializer(AnnotationRequest.class);
        try (var producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
            for (AnnotationRequest r : requests) {
                producer.send(new ProducerRecord<>(topic, r.getId(), values.serialize(topic, r))).get();
                System.out.println(r.getId());
            }
        }
        return 0;
    }
}
