package dev.loupe.jobs.webdataset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading shards sample by sample, WebDataset's key rule, offsets, detection, and copying with a member added. */
class ShardReaderTest {

    @TempDir
    Path dir;

    @Test
    void membersSharingAKeyOneAfterAnotherAreASample() throws IOException {
        Path shard = dir.resolve("s.tar");
        try (TestShards out = TestShards.create(shard)) {
            out.member("a/b.jpg", bytes("img-b")).member("a/b.seg.png", bytes("seg")).member("a/b.json", bytes("{}"))
                    .member("README", bytes("no extension: in no sample"))
                    .member("a/.hidden.txt", bytes("hidden: in no sample"))
                    .member("c.txt", bytes("only text")).member("b.jpg", bytes("img-b2"));
        }
        List<ShardSample> samples = new ArrayList<>();
        try (ShardReader reader = ShardReader.open(shard, name -> 100)) {
            for (ShardSample s; (s = reader.next()) != null; ) {
                samples.add(s);
            }
        }
        assertThat(samples).extracting(ShardSample::key).containsExactly("a/b", "c", "b");
        ShardSample first = samples.get(0);
        assertThat(first.members()).extracting(ShardMember::extension).containsExactly("jpg", "seg.png", "json");
        assertThat(first.image(null).name()).isEqualTo("a/b.jpg");
        assertThat(first.image("seg.png").text()).isEqualTo("seg");
        assertThat(first.fields().toString()).isEqualTo("{\"key\":\"a/b\",\"json\":{}}");
        assertThat(samples.get(1).image(null)).isNull();
        assertThat(samples.get(1).fields().get("txt").asText()).isEqualTo("only text");
        assertThat(MemberName.of("dir/noext")).isNull();
        assertThat(MemberName.of("x.")).isNull();
        assertThat(MemberName.of("000000000.loupe.json")).isEqualTo(new MemberName("000000000", "loupe.json"));
    }

    @Test
    void offsetsPointAtEachMembersBytesAndLargeMembersAreNotRead() throws IOException {
        Path shard = dir.resolve("s.tar");
        byte[] big = new byte[3000];
        Arrays.fill(big, (byte) 7);
        try (TestShards out = TestShards.create(shard)) {
            out.member("k.jpg", big).member("k.txt", bytes("hello"))
                    .member("l".repeat(150) + ".jpg", bytes("long name (a PAX header before it)"));
        }
        List<ShardMember> members = new ArrayList<>();
        try (ShardReader reader = ShardReader.open(shard, name -> 1000)) {
            for (ShardSample s; (s = reader.next()) != null; ) {
                members.addAll(s.members());
            }
        }
        assertThat(members.get(0).content()).isNull();
        assertThat(members.get(1).text()).isEqualTo("hello");
        try (RandomAccessFile file = new RandomAccessFile(shard.toFile(), "r")) {
            for (ShardMember member : members) {
                byte[] at = new byte[(int) member.size()];
                file.seek(member.offset());
                file.readFully(at);
                byte[] expected = member.content() != null ? member.content() : big;
                assertThat(at).as(member.name()).isEqualTo(expected);
            }
        }
    }

    @Test
    void aTarIsTakenForAShardWhenASampleHoldsAnImageAndAnotherMember() throws IOException {
        Path shards = TestShards.img2dataset(dir.resolve("shards"), 1, 2);
        assertThat(ShardReader.looksLikeShard(shards.resolve("00000.tar"))).isTrue();
        Path images = dir.resolve("images.tar");
        try (TestShards out = TestShards.create(images)) {
            out.member("x/1.png", bytes("a")).member("x/2.jpg", bytes("b"));
        }
        assertThat(ShardReader.looksLikeShard(images)).isFalse();
        Path notATar = Files.writeString(dir.resolve("text.tar"), "just text");
        assertThat(ShardReader.looksLikeShard(notATar)).isFalse();
        Path gz = dir.resolve("s.tar.gz");
        try (var out = new GZIPOutputStream(Files.newOutputStream(gz))) {
            out.write(Files.readAllBytes(shards.resolve("00000.tar")));
        }
        assertThat(ShardReader.looksLikeShard(gz)).isTrue();
    }

    @Test
    void aCopyKeepsEveryMemberAndItsOrderAndAddsOneAfterEachSample() throws IOException {
        Path shard = dir.resolve("in/00000.tar");
        try (TestShards out = TestShards.create(shard)) {
            out.sample("000000000", 1).member("README", bytes("loose")).sample("000000001", 2);
        }
        Path copy = dir.resolve("out/00000.tar");
        Files.createDirectories(copy.getParent());
        long samples = ShardCopier.copy(shard, copy, "loupe.json",
                sample -> ("{\"for\":\"" + sample.key() + "\"}").getBytes(StandardCharsets.UTF_8));

        assertThat(samples).isEqualTo(2);
        Map<String, byte[]> in = TestShards.members(shard);
        Map<String, byte[]> out = TestShards.members(copy);
        assertThat(out.keySet()).containsExactly("000000000.jpg", "000000000.txt", "000000000.json", "README",
                "000000000.loupe.json", "000000001.jpg", "000000001.txt", "000000001.json", "000000001.loupe.json");
        for (Map.Entry<String, byte[]> member : in.entrySet()) {
            assertThat(out.get(member.getKey())).as(member.getKey()).isEqualTo(member.getValue());
        }
        assertThat(new String(out.get("000000001.loupe.json"), StandardCharsets.UTF_8))
                .isEqualTo("{\"for\":\"000000001\"}");
        Path again = dir.resolve("out/again.tar");
        ShardCopier.copy(shard, again, "loupe.json",
                sample -> ("{\"for\":\"" + sample.key() + "\"}").getBytes(StandardCharsets.UTF_8));
        assertThat(Files.readAllBytes(again)).isEqualTo(Files.readAllBytes(copy));
    }

    @Test
    void aShardThatEndsInsideAMemberIsAnError() throws IOException {
        Path shard = dir.resolve("s.tar");
        try (TestShards out = TestShards.create(shard)) {
            out.sample("000000000", 1).sample("000000001", 2);
        }
        long secondImage;
        try (ShardReader reader = ShardReader.open(shard, name -> 0)) {
            reader.next();
            secondImage = reader.next().image(null).offset();
        }
        byte[] whole = Files.readAllBytes(shard);
        Path insideData = Files.write(dir.resolve("data.tar"), Arrays.copyOf(whole, (int) secondImage + 10));
        Path insideHeader = Files.write(dir.resolve("header.tar"), Arrays.copyOf(whole, (int) secondImage - 100));
        for (Path cut : List.of(insideData, insideHeader)) {
            for (long limit : new long[] {0, 1 << 20}) {   // skipping members or reading them
                assertThatThrownBy(() -> readAll(cut, limit)).as(cut + " " + limit).isInstanceOf(IOException.class);
            }
        }
        assertThatThrownBy(() -> ShardCopier.copy(insideHeader, dir.resolve("copy.tar"), "x", s -> null))
                .isInstanceOf(IOException.class).hasMessageContaining("truncated");
    }

    private static void readAll(Path shard, long limit) throws IOException {
        try (ShardReader reader = ShardReader.open(shard, name -> limit)) {
            while (reader.next() != null) {
                // read on
            }
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
