import datetime as dt

import pytest
from hypothesis import given, settings, strategies as st
from stdnum.cn import ric as stdnum_ric, uscc as stdnum_uscc
from stdnum import iso6346 as stdnum_iso6346

from whitelist.identifiers import (
    InvalidIdentifier,
    classify_hk_mark,
    classify_mainland_plate,
    is_hk_mark,
    mask_id_number,
    mask_phone,
    normalise_id_number,
    normalise_phone,
    normalise_plate,
    person_key,
    validate_container_no,
    validate_hk_plate,
    validate_id_number,
    validate_phone,
    validate_plate,
    validate_uscc,
)

# Vectors below are the ones in /work/shared/identifiers.md unless marked "extra".
VALID_RIC = [
    "11010519491231002X",
    "440304200001010009",
    "440311201901010002",
    "810000200001010006",
    "820000200001010008",
    "83000020000101000X",  # stdnum: InvalidComponent (no 83 in loc.dat); valid by the rules
    "440311201001010007",  # stdnum: InvalidComponent (Guangming code before 2018); accepted
]
INVALID_RIC = [
    ("440304200001010000", "check digit does not match"),
    ("440304200002300008", "not a valid date of birth"),  # 30 Feb
    ("440304000101000", "use the 18-digit number"),  # extra: legacy 15-digit number
    ("44030420000101000", "unknown format"),  # extra: 17 chars
    ("4403042000010100X9", "unknown format"),  # extra: X not in last place
]


@pytest.mark.parametrize("number", VALID_RIC)
def test_valid_mainland_id_numbers_are_accepted(number):
    assert validate_id_number("cn_resident_id", number) == number


@pytest.mark.parametrize(("number", "message"), INVALID_RIC)
def test_invalid_mainland_id_numbers_are_rejected_with_a_reason(number, message):
    with pytest.raises(InvalidIdentifier, match=message):
        validate_id_number("cn_resident_id", number)


@pytest.mark.parametrize("number", VALID_RIC)
def test_valid_mainland_id_vectors_agree_with_stdnum_checksum(number):
    assert stdnum_ric.calc_check_digit(number) == number[-1]


def test_mainland_id_is_normalised_before_checking():
    assert validate_id_number("cn_resident_id", " 110105-19491231-002x ") == "11010519491231002X"


def test_birth_date_after_today_is_rejected_only_when_today_is_given():
    assert validate_id_number("cn_resident_id", "440311201901010002", today=dt.date(2019, 1, 1))
    with pytest.raises(InvalidIdentifier, match="date of birth"):
        validate_id_number("cn_resident_id", "440311201901010002", today=dt.date(2018, 12, 31))


# The spec's check-digit weights, written out so the property test does not reuse module code.
RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def spec_ric_check(body):
    return "10X98765432"[sum(int(d) * w for d, w in zip(body, RIC_WEIGHTS)) % 11]


@settings(derandomize=True, database=None, max_examples=200)
@given(
    sequence=st.integers(0, 999),
    position=st.integers(0, 17),
    replacement=st.sampled_from("0123456789X"),
)
def test_computed_check_digit_validates_and_any_single_change_is_rejected(
    sequence, position, replacement
):
    body = f"44030419800101{sequence:03d}"  # fixed area (Futian) and date
    number = body + spec_ric_check(body)
    assert validate_id_number("cn_resident_id", number) == number
    if position < 17 and replacement == "X":
        replacement = "0"  # X is only legal as the check character
    altered = number[:position] + replacement + number[position + 1 :]
    if altered != number:
        with pytest.raises(InvalidIdentifier):
            validate_id_number("cn_resident_id", altered)


VALID_USCC = [
    "91440300MA5G00000R",
    "92440300L00000003P",
    "52440300500000007X",
    "N2440300500000007C",  # stdnum: InvalidFormat (letter first); valid by the mod-31 rule
    "91110000600037341L",
]
INVALID_USCC = [
    ("91440300MA5G000000", "check character"),
    ("91440300MA5G0000IX", "not allowed"),
    # extra: mod-31 char recomputed with stdnum.cn.uscc.calc_check_digit, so stdnum accepts it,
    # but the embedded organisation code MA5G0000 must end in 0, not 1
    ("91440300MA5G00001W", "organisation code"),
    ("91440300MA5G00000", "18 characters"),  # extra
]


@pytest.mark.parametrize("code", VALID_USCC)
def test_valid_social_credit_codes_are_accepted(code):
    assert validate_uscc(code) == code
    assert stdnum_uscc.calc_check_digit(code[:17]) == code[-1]


@pytest.mark.parametrize(("code", "message"), INVALID_USCC)
def test_invalid_social_credit_codes_are_rejected_with_a_reason(code, message):
    with pytest.raises(InvalidIdentifier, match=message):
        validate_uscc(code)


def test_social_credit_code_is_upper_cased_and_stripped():
    assert validate_uscc(" 91440300ma5g00000r\n") == "91440300MA5G00000R"


VALID_HKID = ["A123456(3)", "Z000000(1)", "K000001(9)", "C000010(6)", "XA000000(8)", "AB000014(9)",
              "A000002(A)"]  # extra: 36*9 + 10*8 + 2*2 = 408, 408 % 11 = 1, 11 - 1 = 10 -> A
INVALID_HKID = [
    ("A123456(4)", "check digit"),
    ("A12345(6)", "unknown format"),
    ("A1234567", "check digit"),
]


@pytest.mark.parametrize("number", VALID_HKID)
def test_valid_hkid_numbers_are_accepted_without_brackets(number):
    expected = number.replace("(", "").replace(")", "")
    assert validate_id_number("hk_id", number) == expected


@pytest.mark.parametrize(("number", "message"), INVALID_HKID)
def test_invalid_hkid_numbers_are_rejected(number, message):
    with pytest.raises(InvalidIdentifier, match=message):
        validate_id_number("hk_id", number)


def spec_hkid_check(prefix, digits6):
    # Copied from the spec, so the property test below does not reuse module code.
    body = prefix.rjust(2) + digits6
    val = lambda c: 36 if c == " " else (int(c) if c.isdigit() else ord(c) - 55)  # noqa: E731
    r = (11 - sum(val(c) * w for c, w in zip(body, range(9, 1, -1))) % 11) % 11
    return "A" if r == 10 else str(r)


@settings(derandomize=True, database=None, max_examples=200)
@given(
    prefix=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=2),
    digits=st.integers(0, 999999),
    check=st.sampled_from("0123456789A"),
)
def test_hkid_is_accepted_exactly_when_the_spec_check_char_matches(prefix, digits, check):
    number = f"{prefix}{digits:06d}{check}"
    if check == spec_hkid_check(prefix, f"{digits:06d}"):
        assert validate_id_number("hk_id", number) == number
    else:
        with pytest.raises(InvalidIdentifier, match="check digit"):
            validate_id_number("hk_id", number)


def test_full_width_and_lower_case_hkid_is_folded():
    assert normalise_id_number("hk_id", "ａ１２３４５６（３）") == "A1234563"
    assert validate_id_number("hk_id", "a123456 (3)") == "A1234563"


@pytest.mark.parametrize("number", ["H0000000000", "M0000000001", "H00000000"])
def test_valid_travel_permit_numbers_are_accepted(number):
    assert validate_id_number("hk_macao_travel_permit", number) == number


@pytest.mark.parametrize("number", ["H000000000", "X0000000000", "H12345678A0"])
def test_invalid_travel_permit_numbers_are_rejected(number):
    with pytest.raises(InvalidIdentifier):
        validate_id_number("hk_macao_travel_permit", number)


@pytest.mark.parametrize(("value", "expected"), [("E1234567", "E1234567"), ("k-12 345", "K12345")])
def test_passports_of_5_to_20_letters_or_digits_are_accepted(value, expected):
    assert validate_id_number("passport", value) == expected


@pytest.mark.parametrize("value", ["1234", "A" * 21, "AB12#45"])
def test_other_passport_numbers_are_rejected(value):
    with pytest.raises(InvalidIdentifier, match="unknown format"):
        validate_id_number("passport", value)


def test_unknown_id_type_is_rejected():
    with pytest.raises(InvalidIdentifier, match="unknown identifier type"):
        validate_id_number("driving_licence", "A1234567")


def test_reissued_travel_permits_share_a_person_key():
    assert person_key("hk_macao_travel_permit", "H0000000001") == "hk_macao_travel_permit:H00000000"
    assert person_key("hk_macao_travel_permit", "H00000000") == "hk_macao_travel_permit:H00000000"
    assert person_key("hk_id", "A1234563") == "hk_id:A1234563"


def test_invalid_identifier_is_a_value_error_carrying_its_message():
    with pytest.raises(ValueError) as caught:
        validate_id_number("hk_id", "A123456(4)")
    assert caught.value.message == str(caught.value) == "check digit does not match"


@pytest.mark.parametrize(("number", "masked"), [
    ("44030420000101123X", "4403**********123X"),
    ("A1234563", "A1****63"),
    ("E12345678901234", "E1***********34"),
    ("H1234", "H***4"),
    ("ABC", "***"),
    ("", ""),
])
def test_id_numbers_are_masked_by_length(number, masked):
    assert mask_id_number(number) == masked


@pytest.mark.parametrize("length", range(0, 21))
def test_masking_never_reveals_more_than_half(length):
    masked = mask_id_number("7" * length)
    assert len(masked) == length and masked.count("7") <= length / 2


@pytest.mark.parametrize(("value", "expected"), [
    ("13800138000", "+86 13800138000"),
    ("+86 138 0013 8000", "+86 13800138000"),
    ("0086-138-0013-8000", "+86 13800138000"),
    ("１３８００１３８０００", "+86 13800138000"),
    ("9123 4567", "+852 91234567"),
    ("+852 2123-4567", "+852 21234567"),
    ("0755-12345678", "+86 755 12345678"),
    ("(010) 1234 5678", "+86 10 12345678"),
    ("+86 755 12345678", "+86 755 12345678"),
    ("+86 (0)20 1234567", "+86 20 1234567"),
])
def test_phone_numbers_are_normalised_to_the_canonical_form(value, expected):
    assert validate_phone(value) == normalise_phone(value) == expected


@pytest.mark.parametrize("value", [
    "12800138000", "1380013800", "41234567", "+852 13800138000", "+86 91234567",
    "0755-123456", "0110-12345678", "8613800138000", "",
])
def test_invalid_phone_numbers_are_rejected(value):
    with pytest.raises(InvalidIdentifier):
        validate_phone(value)


def test_unrecognised_phone_is_only_cleaned_by_normalise():
    assert normalise_phone(" 4123-4567 ") == "41234567"


@pytest.mark.parametrize(("phone", "masked"), [
    ("+86 13800138000", "+86 138****8000"),
    ("+852 91234567", "+852 ****4567"),
    ("+86 755 12345678", "+86 *** ****5678"),
])
def test_phones_are_masked_keeping_the_country_prefix(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(("plate", "kind"), [
    ("粤B12345", "ordinary"),
    ("粤BD12345", "new_energy_small"),
    ("粤B12345D", "new_energy_large"),
    ("粤B1234挂", "suffix"),
    ("粤ZA123港", "cross_border"),
    ("粤Z1234澳", "cross_border"),
    ("使224001", "embassy"),  # extra
    ("粤BA12345", None),  # extended NEV letter: lenient mode only
    ("粤BI2345", None),
    ("粤B1234", None),
    ("港B12345", None),
    ("粤B123456", None),
])
def test_mainland_plates_are_classified(plate, kind):
    assert classify_mainland_plate(plate) == kind


def test_extended_new_energy_letters_need_lenient_mode():
    assert classify_mainland_plate("粤BA12345", lenient=True) == "new_energy_small"
    assert validate_plate("粤BA12345", lenient=True) == "粤BA12345"
    with pytest.raises(InvalidIdentifier):
        validate_plate("粤BA12345")


def test_plates_are_normalised_without_dots_spaces_or_full_width():
    assert normalise_plate(" 粤b·１２３４5 ") == "粤B12345"
    assert normalise_plate("粤Z・A123港") == "粤ZA123港"


@pytest.mark.parametrize(("mark", "kind"), [
    ("AB1234", "ordinary"), ("AB 1234", "ordinary"), ("HK1", "ordinary"), ("9999", "ordinary"),
    ("FV1234", "ordinary"), ("AB0123", "personalised"), ("AB12345", "personalised"),
    ("ABCDEFG", "personalised"),  # extra: normalised form of "AB CD EFG"
    ("IO123", None), ("AB CD EFG", None),  # extra: 9 characters once the spaces count
    ("Q1", None), ("ABCDEFGHJ", None), ("粤B12345", None),  # extra
])
def test_hong_kong_marks_are_classified(mark, kind):
    assert classify_hk_mark(mark) == kind
    assert is_hk_mark(mark) is (kind is not None)


@pytest.mark.parametrize(("value", "expected"), [
    ("粤B·12345", "粤B12345"), ("粤Z 1234 港", "粤Z1234港"), ("ab 1234", "AB1234"), ("9999", "9999"),
])
def test_validate_plate_accepts_mainland_and_hong_kong(value, expected):
    assert validate_plate(value) == expected


@pytest.mark.parametrize("value", ["粤BI2345", "粤B1234", "港B12345", "粤B123456", "IO123", ""])
def test_validate_plate_rejects_other_values(value):
    with pytest.raises(InvalidIdentifier):
        validate_plate(value)


def test_validate_hk_plate_refuses_mainland_plates():
    assert validate_hk_plate("fv 1234") == "FV1234"
    with pytest.raises(InvalidIdentifier):
        validate_hk_plate("粤B12345")


# Independent hand calculation, letter values A=10 B=12 ... (11, 22, 33 skipped), weights 2^i:
# CSQU305438: C13 S30 Q28 U32 3 0 5 4 3 8 -> 13+60+112+256+48+0+320+512+768+4096 = 6185;
#   6185 % 11 = 3 -> check 3.
# MSKU907032: M24 S30 K21 U32 9 0 7 0 3 2 -> 24+60+84+256+144+0+448+0+768+1024 = 2808;
#   2808 % 11 = 3 -> check 3.
# TASU117000 (stdnum's doc example): T31 A10 S30 U32 1 1 7 0 0 0 -> 31+20+120+256+16+32+448 = 923;
#   923 % 11 = 10, 10 % 10 = 0 -> check 0.
@pytest.mark.parametrize("number", ["CSQU3054383", "MSKU9070323", "TASU1170000"])
def test_valid_container_numbers_are_accepted(number):
    assert validate_container_no(number) == number
    assert stdnum_iso6346.is_valid(number)


def test_container_number_is_normalised():
    assert validate_container_no("csqu 305438 3") == "CSQU3054383"


@pytest.mark.parametrize(("number", "message"), [
    ("CSQU3054384", "check digit"),
    ("CSQX3054383", "unknown format"),
    ("CSQU305438", "unknown format"),
])
def test_invalid_container_numbers_are_rejected(number, message):
    with pytest.raises(InvalidIdentifier, match=message):
        validate_container_no(number)
