package dev.loupe.jobs.webdataset;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.List;
import java.util.Locale;

/**
 * One WebDataset sample: the members sharing a key, in tar order. Its image is the member with the extension asked
 * for, or by default its first {@link MemberName#isImage image} member.
 */
public record ShardSample(String key, List<ShardMember> members) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Text members carried as a sample's fields ({@link #fields}): caption text, metadata, class label. */
    public static final List<String> TEXT_EXTENSIONS = List.of("txt", "json", "cls");

    public ShardSample {
        members = List.copyOf(members);
    }

    /**
     * The sample's image member: the one with extension {@code extension} (any case), or with null the first member
     * with an image extension; null when there is none.
     */
    public ShardMember image(String extension) {
        for (ShardMember member : members) {
            if (extension == null ? member.parsed().isImage()
                    : member.extension().toLowerCase(Locale.ROOT).equals(extension.toLowerCase(Locale.ROOT))) {
                return member;
            }
        }
        return null;
    }

    /** The first member with exactly this extension, or null. */
    public ShardMember member(String extension) {
        for (ShardMember member : members) {
            if (member.extension().equals(extension)) {
                return member;
            }
        }
        return null;
    }

    /**
     * The sample's key and its text members that were read ({@link #TEXT_EXTENSIONS}) as a JSON object:
     * {@code {"key": "000000000", "txt": "a dog on a beach", "json": {...}}}; a {@code .json} member that is not
     * valid JSON is kept as a string.
     */
    public ObjectNode fields() {
        ObjectNode fields = JSON.createObjectNode();
        fields.put("key", key);
        for (String extension : TEXT_EXTENSIONS) {
            ShardMember member = member(extension);
            if (member == null || member.content() == null) {
                continue;
            }
            String text = member.text();
            if (extension.equals("json")) {
                try {
                    JsonNode parsed = JSON.readTree(text);
                    fields.set(extension, parsed == null ? JSON.getNodeFactory().textNode(text) : parsed);
                } catch (IOException e) {
                    fields.put(extension, text);
                }
            } else {
                fields.put(extension, text);
            }
        }
        return fields;
    }
}
