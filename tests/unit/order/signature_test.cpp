#include "order-service/intake/signature.hpp"

#include <gtest/gtest.h>

#include "tests/unit/order/test_keys.hpp"

namespace paynotify::order {
namespace {

using testing::SharedKeyPair;

FormFields SampleNotification() {
  return FormFields{{"app_id", "2021000000000001"},
                    {"out_trade_no", "1000000000001"},
                    {"trade_no", "2024010122001400001"},
                    {"trade_status", "TRADE_SUCCESS"},
                    {"total_amount", "12.30"},
                    {"subject", "Course A"},
                    {"notify_time", "2024-01-01 10:00:00"},
                    {"charset", "utf-8"},
                    {"sign_type", "RSA2"}};
}

FormFields Signed(FormFields fields, const std::string& private_pem) {
  fields["sign"] = Rsa2Sign(fields, private_pem);
  return fields;
}

TEST(SignContent, SortsExcludesSignAndEmptyValues) {
  FormFields fields{{"b", "2"}, {"a", "1"}, {"sign", "xyz"}, {"sign_type", "RSA2"}, {"c", ""},
                    {"d", "x y&z"}};
  EXPECT_EQ(SignContent(fields), "a=1&b=2&d=x y&z");
}

TEST(SignatureVerifier, AcceptsAValidSignature) {
  const auto& keys = SharedKeyPair();
  const auto verifier = SignatureVerifier::FromPublicKey(keys.public_pem);
  const SignatureCheck check = verifier.Verify(Signed(SampleNotification(), keys.private_pem));
  EXPECT_TRUE(check.ok) << check.reason;
}

TEST(SignatureVerifier, AcceptsBareBase64PublicKey) {
  const auto& keys = SharedKeyPair();
  std::string bare;
  for (const auto& line : {keys.public_pem}) {
    size_t start = line.find('\n') + 1;
    size_t end = line.find("-----END");
    for (char c : line.substr(start, end - start)) {
      if (c != '\n') bare.push_back(c);
    }
  }
  const auto verifier = SignatureVerifier::FromPublicKey(bare);
  EXPECT_TRUE(verifier.Verify(Signed(SampleNotification(), keys.private_pem)).ok);
}

TEST(SignatureVerifier, RejectsATamperedField) {
  const auto& keys = SharedKeyPair();
  const auto verifier = SignatureVerifier::FromPublicKey(keys.public_pem);
  FormFields fields = Signed(SampleNotification(), keys.private_pem);
  fields["total_amount"] = "0.01";
  const SignatureCheck check = verifier.Verify(fields);
  EXPECT_FALSE(check.ok);
  EXPECT_EQ(check.reason, "sign: signature does not match the notification");
}

TEST(SignatureVerifier, RejectsAnAddedField) {
  const auto& keys = SharedKeyPair();
  const auto verifier = SignatureVerifier::FromPublicKey(keys.public_pem);
  FormFields fields = Signed(SampleNotification(), keys.private_pem);
  fields["buyer_id"] = "2088";
  EXPECT_FALSE(verifier.Verify(fields).ok);
}

TEST(SignatureVerifier, RejectsTheWrongKey) {
  const auto other = testing::GenerateRsaKeyPair();
  const auto verifier = SignatureVerifier::FromPublicKey(SharedKeyPair().public_pem);
  EXPECT_FALSE(verifier.Verify(Signed(SampleNotification(), other.private_pem)).ok);
}

TEST(SignatureVerifier, RejectsAMissingSign) {
  const auto verifier = SignatureVerifier::FromPublicKey(SharedKeyPair().public_pem);
  const SignatureCheck check = verifier.Verify(SampleNotification());
  EXPECT_FALSE(check.ok);
  EXPECT_EQ(check.reason, "sign: missing");
}

TEST(SignatureVerifier, RejectsAnotherSignType) {
  const auto& keys = SharedKeyPair();
  const auto verifier = SignatureVerifier::FromPublicKey(keys.public_pem);
  FormFields fields = Signed(SampleNotification(), keys.private_pem);
  fields["sign_type"] = "RSA";
  EXPECT_EQ(verifier.Verify(fields).reason, "sign_type: expected RSA2, got 'RSA'");
  fields.erase("sign_type");
  EXPECT_EQ(verifier.Verify(fields).reason, "sign_type: missing (expected RSA2)");
}

TEST(SignatureVerifier, RejectsGarbageSign) {
  const auto verifier = SignatureVerifier::FromPublicKey(SharedKeyPair().public_pem);
  FormFields fields = SampleNotification();
  fields["sign"] = "not*base64";
  EXPECT_EQ(verifier.Verify(fields).reason, "sign: not valid base64");
}

TEST(SignatureVerifier, EmptyValuesAndSignTypeAreNotSigned) {
  const auto& keys = SharedKeyPair();
  const auto verifier = SignatureVerifier::FromPublicKey(keys.public_pem);
  FormFields fields = Signed(SampleNotification(), keys.private_pem);
  fields["passback_params"] = "";  // an empty field added after signing changes nothing
  EXPECT_TRUE(verifier.Verify(fields).ok);
  // sign_type is outside the signed content: the signature alone does not pin it, the
  // verifier's own RSA2 check does.
  EXPECT_EQ(SignContent(fields).find("sign_type"), std::string::npos);
}

TEST(SignatureVerifier, UnencodedPlusArrivingAsSpaceStillVerifies) {
  const auto& keys = SharedKeyPair();
  const auto verifier = SignatureVerifier::FromPublicKey(keys.public_pem);
  FormFields fields = Signed(SampleNotification(), keys.private_pem);
  for (char& c : fields["sign"]) {
    if (c == '+') c = ' ';
  }
  EXPECT_TRUE(verifier.Verify(fields).ok);
}

TEST(SignatureVerifier, RejectsABadKey) {
  EXPECT_THROW(SignatureVerifier::FromPublicKey("not a key"), std::invalid_argument);
  EXPECT_THROW(SignatureVerifier::FromPublicKeyFile("/nonexistent/key.pem"), std::invalid_argument);
}

TEST(Base64, RoundTrips) {
  for (std::string text : {"", "a", "ab", "abc", "abcd", "\xff\x00\x10"}) {
    std::string decoded;
    ASSERT_TRUE(Base64Decode(Base64Encode(text), decoded));
    EXPECT_EQ(decoded, text);
  }
  std::string out;
  EXPECT_FALSE(Base64Decode("abc", out));
  EXPECT_FALSE(Base64Decode("ab=c", out));
}

// OpenSSL does the work (EVP_EncodeBlock, EVP_Decode*); these pin the semantics the verifier
// relies on: exact lengths (padding is not decoded as zero bytes), white space skipped,
// nothing after padding, no '-' (OpenSSL would read it as a PEM end line and stop there).
TEST(Base64, ExactLengthsPaddingAndWhiteSpace) {
  EXPECT_EQ(Base64Encode("a"), "YQ==");
  EXPECT_EQ(Base64Encode("ab"), "YWI=");
  EXPECT_EQ(Base64Encode("abc"), "YWJj");
  EXPECT_EQ(Base64Encode(std::string(100, 'x')).find('\n'), std::string::npos) << "no line breaks";
  std::string out;
  ASSERT_TRUE(Base64Decode("YQ==", out));
  EXPECT_EQ(out, "a");
  ASSERT_TRUE(Base64Decode("YWI=", out));
  EXPECT_EQ(out, "ab");
  ASSERT_TRUE(Base64Decode(" YW\r\nJj\t", out));
  EXPECT_EQ(out, "abc");
  for (const char* bad : {"YQ", "YQ=", "Y===", "====", "YQ==YQ==", "YQ==\nYWJj", "YW-Jj", "YWJj-", "YWJj----x",
                          "YW*j", "YWJ\xc3\xa9"}) {
    EXPECT_FALSE(Base64Decode(bad, out)) << bad;
    EXPECT_TRUE(out.empty()) << bad;
  }
}

}  // namespace
}  // namespace paynotify::order

namespace paynotify::order {
namespace {

// Issue 10 §1 "Log injection": the sign_type is echoed in the reason before the signature
// is checked, so it is escaped and bounded.
TEST(SignatureVerifier, EchoedSignTypeIsEscapedAndBounded) {
  const auto verifier = SignatureVerifier::FromPublicKey(SharedKeyPair().public_pem);
  FormFields fields = SampleNotification();
  fields["sign_type"] = "RSA\nforged line\xFF";
  EXPECT_EQ(verifier.Verify(fields).reason, "sign_type: expected RSA2, got 'RSA\\nforged line\\xFF'");
  fields["sign_type"] = std::string(100000, 'R');
  EXPECT_LT(verifier.Verify(fields).reason.size(), 400u);
}

TEST(SignatureVerifier, OversizedSignIsRefusedBeforeDecoding) {
  const auto verifier = SignatureVerifier::FromPublicKey(SharedKeyPair().public_pem);
  FormFields fields = SampleNotification();
  fields["sign"] = std::string(16000, 'A');
  EXPECT_EQ(verifier.Verify(fields).reason, "sign: longer than 1024 characters");
}

}  // namespace
}  // namespace paynotify::order
