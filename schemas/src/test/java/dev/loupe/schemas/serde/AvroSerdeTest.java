package dev.loupe.schemas.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.GenerationOverrides;
import dev.loupe.schemas.ImageSource;
import dev.loupe.schemas.Task;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

class AvroSerdeTest {

    /** The current request schema plus one defaulted field, as a future producer or consumer would have it. */
    private static final Schema EXTENDED = new Schema.Parser().parse(AnnotationRequest.getClassSchema().toString()
            .replaceFirst("\"fields\":\\[",
                    "\"fields\":[{\"name\":\"priority\",\"type\":\"int\",\"default\":7},"));

    private static AnnotationRequest request() {
        return AnnotationRequest.newBuilder()
                .setId("r-1")
                .setImage(ImageSource.newBuilder().setUri("file:///images/cat.jpg").build())
                .setTask(Task.VQA)
                .setQuestion("what is it?")
                .setCandidates(List.of())
                .setOcrTokens(List.of("STOP"))
                .setGeneration(GenerationOverrides.newBuilder().setMaxNewTokens(5).setNumBeams(2).build())
                .setMetadata(Map.of("k", "v"))
                .build();
    }

    @Test
    void roundTripsWithTheCurrentSchema() {
        byte[] bytes = new AvroSerializer<>(AnnotationRequest.class).serialize("t", request());
        assertThat(new AvroDeserializer<>(AnnotationRequest.class).deserialize("t", bytes)).isEqualTo(request());
    }

    @Test
    void currentRecordIsReadByAReaderWithAnAddedDefaultedField() throws Exception {
        byte[] bytes = new AvroSerializer<>(AnnotationRequest.class).serialize("t", request());

        GenericDatumReader<GenericRecord> reader = new GenericDatumReader<>(AnnotationRequest.getClassSchema(), EXTENDED);
        GenericRecord read = reader.read(null, DecoderFactory.get().binaryDecoder(bytes, null));

        assertThat(read.get("priority")).isEqualTo(7);
        assertThat(read.get("id").toString()).isEqualTo("r-1");
        assertThat(read.get("question").toString()).isEqualTo("what is it?");
    }

    @Test
    void extendedRecordIsReadByTheCurrentReader() throws Exception {
        byte[] current = new AvroSerializer<>(AnnotationRequest.class).serialize("t", request());
        GenericRecord extended = new GenericDatumReader<GenericRecord>(AnnotationRequest.getClassSchema(), EXTENDED)
                .read(null, DecoderFactory.get().binaryDecoder(current, null));
        extended.put("priority", 42);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(EXTENDED, GenericData.get()).write(extended, encoder);
        encoder.flush();

        AnnotationRequest read = new AvroDeserializer<>(AnnotationRequest.class, EXTENDED).deserialize("t", out.toByteArray());

        assertThat(read).isEqualTo(request());
    }

    @Test
    void garbageIsASerializationException() {
        AvroDeserializer<AnnotationRequest> deserializer = new AvroDeserializer<>(AnnotationRequest.class);
        assertThatThrownBy(() -> deserializer.deserialize("t", "not avro at all".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(SerializationException.class);
        byte[] good = new AvroSerializer<>(AnnotationRequest.class).serialize("t", request());
        byte[] trailing = java.util.Arrays.copyOf(good, good.length + 3);
        assertThatThrownBy(() -> deserializer.deserialize("t", trailing)).isInstanceOf(SerializationException.class);
        assertThat(deserializer.deserialize("t", null)).isNull();
    }
}
