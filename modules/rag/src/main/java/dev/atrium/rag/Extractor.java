package dev.atrium.rag;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;
import org.apache.tika.exception.TikaException;
import org.apache.tika.metadata.Metadata;
import org.apache.tika.parser.AutoDetectParser;
import org.apache.tika.parser.ParseContext;
import org.apache.tika.sax.ToXMLContentHandler;
import org.jsoup.Jsoup;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;
import org.jsoup.nodes.Node;
import org.jsoup.nodes.TextNode;
import org.xml.sax.SAXException;

/**
 * Text out of a document, as markdown so the chunker sees headings: PDF and DOCX through
 * Apache Tika (as XHTML, then the same HTML-to-markdown walk), HTML through jsoup,
 * markdown kept as it is, plain text as it is.
 */
public final class Extractor {
  public static final String PDF = "application/pdf";
  public static final String DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
  public static final Set<String> SUPPORTED = Set.of("text/plain", "text/markdown", "text/html", PDF, DOCX);

  private Extractor() {}

  /** The base media type, lower case, without parameters. */
  public static String mediaType(String contentType) {
    int semicolon = contentType.indexOf(';');
    return (semicolon < 0 ? contentType : contentType.substring(0, semicolon)).strip().toLowerCase(Locale.ROOT);
  }

  public static boolean supported(String contentType) {
    String type = mediaType(contentType);
    return SUPPORTED.contains(type) || type.startsWith("text/");
  }

  /** @throws IllegalArgumentException when the bytes are not what the content type says */
  public static String markdown(byte[] bytes, String contentType) {
    String type = mediaType(contentType);
    return switch (type) {
      case "text/html" -> htmlToMarkdown(Jsoup.parse(utf8(bytes)));
      case PDF, DOCX -> tika(bytes, type);
      default -> utf8(bytes);
    };
  }

  static String utf8(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("the text is not valid UTF-8");
    }
  }

  private static String tika(byte[] bytes, String type) {
    ToXMLContentHandler handler = new ToXMLContentHandler();
    Metadata metadata = new Metadata();
    AutoDetectParser parser = new AutoDetectParser();
    try {
      // Tika detects by content: a file that is not what its content type says is refused,
      // not parsed as whatever it happens to be.
      String detected = parser.getDetector().detect(new ByteArrayInputStream(bytes), new Metadata()).getBaseType().toString();
      if (!detected.equals(type)) {
        throw new IllegalArgumentException("the upload is " + detected + ", not " + type);
      }
      parser.parse(new ByteArrayInputStream(bytes), handler, metadata, new ParseContext());
    } catch (IOException | SAXException | TikaException e) {
      throw new IllegalArgumentException("the " + type + " document could not be read: " + e.getMessage());
    }
    return htmlToMarkdown(Jsoup.parse(handler.toString()));
  }

  /** Headings become {@code #} lines, block elements paragraphs, list items "- " lines. */
  static String htmlToMarkdown(Document document) {
    document.select("script, style, noscript, nav, footer, head").remove();
    StringBuilder out = new StringBuilder();
    Element body = document.body() != null ? document.body() : document;
    walk(body, out);
    return out.toString().replaceAll("\n{3,}", "\n\n").strip() + "\n";
  }

  private static void walk(Node node, StringBuilder out) {
    for (Node child : node.childNodes()) {
      if (child instanceof TextNode text) {
        String t = text.text();
        if (!t.isBlank()) {
          out.append(t.replaceAll("\\s+", " "));
        }
      } else if (child instanceof Element e) {
        String tag = e.normalName();
        if (tag.matches("h[1-6]")) {
          out.append("\n\n").append("#".repeat(tag.charAt(1) - '0')).append(' ').append(e.text().strip()).append("\n\n");
        } else if (tag.equals("li")) {
          out.append("\n- ");
          walk(e, out);
        } else if (tag.equals("br")) {
          out.append('\n');
        } else if (tag.equals("pre")) {
          out.append("\n\n").append(e.wholeText().strip()).append("\n\n");
        } else if (Set.of("p", "div", "section", "article", "table", "tr", "ul", "ol", "blockquote", "main").contains(tag)) {
          out.append("\n\n");
          walk(e, out);
          out.append("\n\n");
        } else if (tag.equals("td") || tag.equals("th")) {
          walk(e, out);
          out.append(" | ");
        } else {
          walk(e, out);
        }
      }
    }
  }
}
