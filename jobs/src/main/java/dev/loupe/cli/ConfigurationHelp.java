package dev.loupe.cli;

import dev.loupe.config.OptionCatalogue;
import dev.loupe.config.OptionText;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;

/**
 * The "Configuration options" section of a {@link ConfiguredCommand}'s {@code --help}: every option key with its
 * type, default and description, so the help is the reference for {@code --config}, {@code -D} and
 * {@code flink run -D}.
 */
public final class ConfigurationHelp {

    /** The help section's key. */
    public static final String SECTION = "loupeConfigurationOptions";

    private static final int WIDTH = 100;

    private ConfigurationHelp() {}

    /** Adds the section listing {@code catalogue} to {@code command}'s help, before its footer. */
    static void addSection(CommandLine command, OptionCatalogue catalogue) {
        command.getHelpSectionMap().put(SECTION, help -> render(catalogue));
        List<String> keys = new ArrayList<>(command.getHelpSectionKeys());
        int at = keys.indexOf(CommandLine.Model.UsageMessageSpec.SECTION_KEY_FOOTER_HEADING);
        keys.add(at < 0 ? keys.size() : at, SECTION);
        command.setHelpSectionKeys(keys);
    }

    /** The section's text. */
    public static String render(OptionCatalogue catalogue) {
        StringBuilder out = new StringBuilder();
        out.append("%nConfiguration options (--config FILE.yaml, -D KEY=VALUE, or flink run -D KEY=VALUE on a cluster;%n")
                .append("  precedence: default < cluster configuration < --config < -D < the flags above):%n");
        for (OptionCatalogue.Entry e : catalogue.entries()) {
            String def = OptionCatalogue.defaultText(e.option());
            out.append("  ").append(e.key()).append("  (").append(e.type());
            out.append(def == null ? ", no default" : ", default: " + shown(def)).append(")%n");
            for (String line : wrap(OptionText.description(e.option()), WIDTH - 6)) {
                out.append("      ").append(line.replace("%", "%%")).append("%n");
            }
        }
        return String.format(out.toString());
    }

    private static String shown(String defaultText) {
        return switch (defaultText) {
            case "", "[]", "{}" -> "none";
            default -> defaultText;
        };
    }

    private static List<String> wrap(String text, int width) {
        List<String> lines = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        for (String word : text.strip().split("\\s+")) {
            if (line.length() > 0 && line.length() + 1 + word.length() > width) {
                lines.add(line.toString());
                line.setLength(0);
            }
            if (line.length() > 0) {
                line.append(' ');
            }
            line.append(word);
        }
        if (line.length() > 0) {
            lines.add(line.toString());
        }
        return lines;
    }
}
