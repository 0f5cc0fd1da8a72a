package dev.atrium.gateway.guard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PatternRedactorTest {
  private final PatternRedactor all = new PatternRedactor(PatternRedactor.KINDS);

  private String redacted(String text) {
    return all.redact(text, false).text();
  }

  @Test
  void luhnAcceptsRealTestCardsAndRefusesOneDigitOff() {
    assertThat(PatternRedactor.luhnValid("4111111111111111", 0, 16)).isTrue();
    assertThat(PatternRedactor.luhnValid("5555 5555 5555 4444", 0, 19)).isTrue();
    assertThat(PatternRedactor.luhnValid("378282246310005", 0, 15)).isTrue();
    assertThat(PatternRedactor.luhnValid("4111111111111112", 0, 16)).isFalse();
    assertThat(PatternRedactor.luhnValid("1234567812345678", 0, 16)).isFalse();
  }

  @Test
  void mod97AcceptsRealIbansAndRefusesAChangedDigit() {
    assertThat(PatternRedactor.ibanValid("DE89370400440532013000", 0, 22)).isTrue();
    assertThat(PatternRedactor.ibanValid("GB82 WEST 1234 5698 7654 32", 0, 27)).isTrue();
    assertThat(PatternRedactor.ibanValid("FR1420041010050500013M02606", 0, 27)).isTrue();
    assertThat(PatternRedactor.ibanValid("DE89370400440532013001", 0, 22)).isFalse();
    assertThat(PatternRedactor.ibanValid("GB82WEST1234569876543", 0, 21)).isFalse();
  }

  @Test
  void redactsCardsThatPassLuhnOnly() {
    assertThat(redacted("card 4111 1111 1111 1111 ok")).isEqualTo("card [redacted:card] ok");
    assertThat(redacted("card 4111-1111-1111-1111.")).isEqualTo("card [redacted:card].");
    assertThat(redacted("order 4111111111111112 shipped")).isEqualTo("order 4111111111111112 shipped");
  }

  @Test
  void redactsIbansThatPassMod97Only() {
    assertThat(redacted("pay to DE89 3704 0044 0532 0130 00 today")).isEqualTo("pay to [redacted:iban] today");
    assertThat(redacted("IBAN GB82WEST12345698765432")).isEqualTo("IBAN [redacted:iban]");
    // One check digit off: no IBAN (and its digits are no Luhn-valid card either).
    assertThat(redacted("ref DE89 3704 0044 0532 0130 02 today")).isEqualTo("ref DE89 3704 0044 0532 0130 02 today");
  }

  @Test
  void redactsEmailAddresses() {
    assertThat(redacted("mail jane.doe+news@mail.example.co.uk, thanks"))
        .isEqualTo("mail [redacted:email], thanks");
    assertThat(redacted("a@b.io.")).isEqualTo("[redacted:email].");
    assertThat(redacted("not an address: user@localhost or @handle")).isEqualTo("not an address: user@localhost or @handle");
  }

  @ParameterizedTest
  @ValueSource(strings = {"+44 20 7946 0958", "+1-415-555-2671", "+49 (30) 123456", "(415) 555-2671", "415-555-2671",
      "415.555.2671", "020 7946 0958", "030 1234567"})
  void redactsPhoneNumbersInTheirCommonShapes(String phone) {
    assertThat(redacted("call " + phone + " now")).isEqualTo("call [redacted:phone] now");
  }

  @ParameterizedTest
  @ValueSource(strings = {"in 2026 we", "version 1.2.3", "4155552671", "page 12-14", "on 2026-12-01", "id 123456"})
  void leavesDigitRunsThatAreNoPhoneNumber(String text) {
    assertThat(redacted(text)).isEqualTo(text);
  }

  @Test
  void saysWhichKindsItFound() {
    var r = all.redact("a@b.io and 4111 1111 1111 1111 and a@c.io", false);
    assertThat(r.kinds()).containsExactly("email", "card", "email");
    assertThat(r.settled()).isEqualTo(r.text().length() - "[redacted:email] and [redacted:card] and [redacted:email]"
        .length() + "a@b.io and 4111 1111 1111 1111 and a@c.io".length());
  }

  @Test
  void redactsOnlyTheKindsItIsGiven() {
    var emailOnly = new PatternRedactor(List.of("email"));
    assertThat(emailOnly.redact("a@b.io 4111 1111 1111 1111", false).text()).isEqualTo("[redacted:email] 4111 1111 1111 1111");
    assertThatThrownBy(() -> new PatternRedactor(List.of("ssn"))).hasMessageContaining("'ssn'");
  }

  @Test
  void holdsBackATailThatCouldStillBecomeAMatch() {
    var r = all.redact("write to jane.doe@exa", true);
    assertThat(r.text()).isEqualTo("write to ");
    assertThat(r.settled()).isEqualTo("write to ".length());
    var done = all.redact("write to plain words ", true);
    assertThat(done.settled()).isEqualTo("write to plain words ".length());
  }
}
