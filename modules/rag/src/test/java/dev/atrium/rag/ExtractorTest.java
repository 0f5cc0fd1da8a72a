package dev.atrium.rag;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.PDPageContentStream;
import org.apache.pdfbox.pdmodel.font.PDType1Font;
import org.apache.pdfbox.pdmodel.font.Standard14Fonts;
import org.apache.poi.xwpf.usermodel.XWPFDocument;
import org.apache.poi.xwpf.usermodel.XWPFParagraph;
import org.junit.jupiter.api.Test;

/** Extraction to markdown, with documents generated here (no binary fixtures in the repository). */
class ExtractorTest {

  static byte[] pdf(String... lines) throws Exception {
    try (PDDocument document = new PDDocument(); ByteArrayOutputStream out = new ByteArrayOutputStream()) {
      PDPage page = new PDPage();
      document.addPage(page);
      try (PDPageContentStream content = new PDPageContentStream(document, page)) {
        content.beginText();
        content.setFont(new PDType1Font(Standard14Fonts.FontName.HELVETICA), 12);
        content.newLineAtOffset(50, 700);
        for (String line : lines) {
          content.showText(line);
          content.newLineAtOffset(0, -20);
        }
        content.endText();
      }
      document.save(out);
      return out.toByteArray();
    }
  }

  static byte[] docx(String heading, String paragraph) throws Exception {
    try (XWPFDocument document = new XWPFDocument(); ByteArrayOutputStream out = new ByteArrayOutputStream()) {
      XWPFParagraph h = document.createParagraph();
      h.setStyle("Heading1");
      h.createRun().setText(heading);
      document.createParagraph().createRun().setText(paragraph);
      document.write(out);
      return out.toByteArray();
    }
  }

  @Test
  void htmlBecomesMarkdownWithHeadingsAndWithoutScripts() {
    String html = "<html><head><title>t</title><script>evil()</script></head><body><h1>Guide</h1>"
        + "<p>First <b>para</b>.</p><h2>Part</h2><ul><li>one</li><li>two</li></ul></body></html>";
    String md = Extractor.markdown(html.getBytes(StandardCharsets.UTF_8), "text/html; charset=utf-8");
    assertThat(md).contains("# Guide", "First para.", "## Part", "- one", "- two").doesNotContain("evil");
  }

  @Test
  void pdfTextIsExtractedWithTika() throws Exception {
    String md = Extractor.markdown(pdf("The lighthouse keeper is Marguerite.", "She lives on Ushant."), Extractor.PDF);
    assertThat(md).contains("The lighthouse keeper is Marguerite.").contains("Ushant");
  }

  @Test
  void docxTextAndHeadingsAreExtractedWithTika() throws Exception {
    String md = Extractor.markdown(docx("Orchard notes", "The quince tree flowers in April."), Extractor.DOCX);
    assertThat(md).contains("Orchard notes").contains("The quince tree flowers in April.");
  }

  @Test
  void markdownAndTextAreKeptAsTheyAre() {
    assertThat(Extractor.markdown("# T\n\nbody".getBytes(StandardCharsets.UTF_8), "text/markdown")).isEqualTo("# T\n\nbody");
  }

  @Test
  void refusesWhatIsNotWhatItClaims() {
    assertThatThrownBy(() -> Extractor.markdown(new byte[] {(byte) 0xff, (byte) 0xfe, 0x00}, "text/plain"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("UTF-8");
    assertThatThrownBy(() -> Extractor.markdown("not a pdf".getBytes(StandardCharsets.UTF_8), Extractor.PDF))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
