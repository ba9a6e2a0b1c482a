package dev.loupe.config;

import java.util.EnumSet;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.description.Formatter;
import org.apache.flink.configuration.description.TextElement;

/** What help says about an option: its description as plain text and its default as a configuration would write it. */
public final class OptionText {

    private OptionText() {}

    /** The option's description as one line of plain text. */
    public static String description(ConfigOption<?> option) {
        return new PlainText().format(option.description()).strip();
    }

    /** The option's default as help shows it, or {@code null} when it has none (or an empty one). */
    public static String shownDefault(ConfigOption<?> option) {
        String text = OptionCatalogue.defaultText(option);
        return text == null || text.isEmpty() || text.equals("[]") || text.equals("{}") ? null : text;
    }

    /** Flink option descriptions as plain text. */
    private static final class PlainText extends Formatter {
        @Override
        protected void formatLink(StringBuilder state, String link, String description) {
            state.append(description.isEmpty() ? link : description + " (" + link + ")");
        }

        @Override
        protected void formatLineBreak(StringBuilder state) {
            state.append(' ');
        }

        @Override
        protected void formatText(StringBuilder state, String format, String[] elements,
                EnumSet<TextElement.TextStyle> styles) {
            state.append(String.format(format, (Object[]) elements));
        }

        @Override
        protected void formatList(StringBuilder state, String[] entries) {
            state.append(String.join("; ", entries));
        }

        @Override
        protected Formatter newInstance() {
            return new PlainText();
        }
    }
}
