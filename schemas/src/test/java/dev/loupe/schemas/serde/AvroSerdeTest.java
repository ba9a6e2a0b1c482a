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

    @Test
    void anUnknownEnumSymbolIsNamedClearly() throws Exception {
        // a producer whose schema has a fourth task writes it; this reader knows three
        Schema newer = new Schema.Parser().parse(AnnotationRequest.getClassSchema().toString()
                .replace("\"RANK\"]", "\"RANK\",\"DETECT\"]"));
        GenericRecord image = new GenericData.Record(newer.getField("image").schema());
        image.put("uri", "file:///x.png");
        GenericRecord record = new GenericData.Record(newer);
        record.put("id", "r");
        record.put("image", image);
        record.put("task", new GenericData.EnumSymbol(newer.getField("task").schema(), "DETECT"));
        record.put("candidates", List.of());
        record.put("ocrTokens", List.of());
        record.put("metadata", Map.of());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(newer).write(record, encoder);
        encoder.flush();
        assertThatThrownBy(() -> new AvroDeserializer<>(AnnotationRequest.class).deserialize(out.toByteArray()))
                .isInstanceOf(SerializationException.class)
                .hasMessageContaining("enum symbol or union branch number beyond this reader's schema")
                .hasMessageContaining("newer schema");
    }

    @Test
    void aHugeDeclaredLengthIsRejectedWithoutAllocatingIt() {
        // id: a string whose varint length claims ~1 GiB, followed by 3 bytes
        byte[] bytes = {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x08, 'a', 'b', 'c'};
        assertThatThrownBy(() -> new AvroDeserializer<>(AnnotationRequest.class).deserialize(bytes))
                .isInstanceOf(SerializationException.class)
                .hasMessageContaining("only 3 left");
    }

    @Test
    void everyFieldTypeRoundTrips() {
        GenerationOverrides all = GenerationOverrides.newBuilder().setMaxNewTokens(5).setMinNewTokens(1)
                .setNumBeams(3).setNumReturnSequences(2).setLengthPenalty(0.5f).setRepetitionPenalty(1.25f)
                .setTemperature(0.7f).setTopP(0.9f).setSeed(-1234567890123L).build();
        AnnotationRequest request = AnnotationRequest.newBuilder(request())
                .setImage(ImageSource.newBuilder().setBytes(java.nio.ByteBuffer.wrap(new byte[] {0, -1, 127})).build())
                .setTask(Task.RANK).setCandidates(List.of("a", "é ü")).setGeneration(all).build();
        assertThat(new AvroDeserializer<>(AnnotationRequest.class)
                .deserialize(new AvroSerializer<>(AnnotationRequest.class).serialize(request))).isEqualTo(request);

        dev.loupe.schemas.AnnotationResult result = dev.loupe.schemas.AnnotationResult.newBuilder()
                .setId("r").setTask("rank").setPrompt(null).setText("cat").setTokenIds(List.of(1, -2, 300000))
                .setScore(-1.5e-3).setCandidates(List.of(new dev.loupe.schemas.CandidateScore("cat", -0.25)))
                .setTimings(new dev.loupe.schemas.Timings(1L, 2L, Long.MAX_VALUE, 3L)).setBatchSize(8)
                .setMetadata(Map.of("a", "1", "b", "2")).build();
        assertThat(new AvroDeserializer<>(dev.loupe.schemas.AnnotationResult.class)
                .deserialize(new AvroSerializer<>(dev.loupe.schemas.AnnotationResult.class).serialize(result)))
                .isEqualTo(result);
    }

    @Test
    void blockedArraysAndMapsAreReadAndSkipped() throws Exception {
        byte[] current = new AvroSerializer<>(AnnotationRequest.class).serialize(request());
        GenericRecord extended = new GenericDatumReader<GenericRecord>(AnnotationRequest.getClassSchema(), EXTENDED)
                .read(null, DecoderFactory.get().binaryDecoder(current, null));
        Schema withExtraArray = new Schema.Parser().parse(EXTENDED.toString().replaceFirst("\"fields\":\\[",
                "\"fields\":[{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"},\"default\":[]},"));
        GenericRecord record = new GenericData.Record(withExtraArray);
        for (Schema.Field f : EXTENDED.getFields()) {
            record.put(f.name(), extended.get(f.name()));
        }
        record.put("tags", List.of("x", "y", "z"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().blockingBinaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(withExtraArray, GenericData.get()).write(record, encoder);
        encoder.flush();

        AnnotationRequest read = new AvroDeserializer<>(AnnotationRequest.class, withExtraArray).deserialize(out.toByteArray());
        assertThat(read).isEqualTo(request());
    }
}
