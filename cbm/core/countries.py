"""ISO 3166-1 alpha-2 country codes, shipped in the code (no network, no third-party data at run time).

The 249 officially assigned codes of ISO 3166-1 with their short English names, as the Debian ``iso-codes``
package publishes them (through ``pycountry``; see tests/data/SOURCES.md). Used for an indicator's origin
territory (docs/adr/0193-indicator-origin.md). User-assigned and reserved codes (``XK``, ``EU``, ``UK``...) are
not country codes and are refused.
"""

from __future__ import annotations

from typing import Any

COUNTRIES: dict[str, str] = {
    "AD": 'Andorra', "AE": 'United Arab Emirates', "AF": 'Afghanistan', "AG": 'Antigua and Barbuda',
    "AI": 'Anguilla', "AL": 'Albania', "AM": 'Armenia', "AO": 'Angola', "AQ": 'Antarctica', "AR": 'Argentina',
    "AS": 'American Samoa', "AT": 'Austria', "AU": 'Australia', "AW": 'Aruba', "AX": 'Åland Islands',
    "AZ": 'Azerbaijan', "BA": 'Bosnia and Herzegovina', "BB": 'Barbados', "BD": 'Bangladesh', "BE": 'Belgium',
    "BF": 'Burkina Faso', "BG": 'Bulgaria', "BH": 'Bahrain', "BI": 'Burundi', "BJ": 'Benin',
    "BL": 'Saint Barthélemy', "BM": 'Bermuda', "BN": 'Brunei Darussalam', "BO": 'Bolivia',
    "BQ": 'Bonaire, Sint Eustatius and Saba', "BR": 'Brazil', "BS": 'Bahamas', "BT": 'Bhutan', "BV": 'Bouvet Island',
    "BW": 'Botswana', "BY": 'Belarus', "BZ": 'Belize', "CA": 'Canada', "CC": 'Cocos (Keeling) Islands',
    "CD": 'Congo, The Democratic Republic of the', "CF": 'Central African Republic', "CG": 'Congo',
    "CH": 'Switzerland', "CI": "Côte d'Ivoire", "CK": 'Cook Islands', "CL": 'Chile', "CM": 'Cameroon', "CN": 'China',
    "CO": 'Colombia', "CR": 'Costa Rica', "CU": 'Cuba', "CV": 'Cabo Verde', "CW": 'Curaçao',
    "CX": 'Christmas Island', "CY": 'Cyprus', "CZ": 'Czechia', "DE": 'Germany', "DJ": 'Djibouti', "DK": 'Denmark',
    "DM": 'Dominica', "DO": 'Dominican Republic', "DZ": 'Algeria', "EC": 'Ecuador', "EE": 'Estonia', "EG": 'Egypt',
    "EH": 'Western Sahara', "ER": 'Eritrea', "ES": 'Spain', "ET": 'Ethiopia', "FI": 'Finland', "FJ": 'Fiji',
    "FK": 'Falkland Islands (Malvinas)', "FM": 'Micronesia, Federated States of', "FO": 'Faroe Islands',
    "FR": 'France', "GA": 'Gabon', "GB": 'United Kingdom', "GD": 'Grenada', "GE": 'Georgia', "GF": 'French Guiana',
    "GG": 'Guernsey', "GH": 'Ghana', "GI": 'Gibraltar', "GL": 'Greenland', "GM": 'Gambia', "GN": 'Guinea',
    "GP": 'Guadeloupe', "GQ": 'Equatorial Guinea', "GR": 'Greece',
    "GS": 'South Georgia and the South Sandwich Islands', "GT": 'Guatemala', "GU": 'Guam', "GW": 'Guinea-Bissau',
    "GY": 'Guyana', "HK": 'Hong Kong', "HM": 'Heard Island and McDonald Islands', "HN": 'Honduras', "HR": 'Croatia',
    "HT": 'Haiti', "HU": 'Hungary', "ID": 'Indonesia', "IE": 'Ireland', "IL": 'Israel', "IM": 'Isle of Man',
    "IN": 'India', "IO": 'British Indian Ocean Territory', "IQ": 'Iraq', "IR": 'Iran', "IS": 'Iceland',
    "IT": 'Italy', "JE": 'Jersey', "JM": 'Jamaica', "JO": 'Jordan', "JP": 'Japan', "KE": 'Kenya', "KG": 'Kyrgyzstan',
    "KH": 'Cambodia', "KI": 'Kiribati', "KM": 'Comoros', "KN": 'Saint Kitts and Nevis', "KP": 'North Korea',
    "KR": 'South Korea', "KW": 'Kuwait', "KY": 'Cayman Islands', "KZ": 'Kazakhstan', "LA": 'Laos', "LB": 'Lebanon',
    "LC": 'Saint Lucia', "LI": 'Liechtenstein', "LK": 'Sri Lanka', "LR": 'Liberia', "LS": 'Lesotho',
    "LT": 'Lithuania', "LU": 'Luxembourg', "LV": 'Latvia', "LY": 'Libya', "MA": 'Morocco', "MC": 'Monaco',
    "MD": 'Moldova', "ME": 'Montenegro', "MF": 'Saint Martin (French part)', "MG": 'Madagascar',
    "MH": 'Marshall Islands', "MK": 'North Macedonia', "ML": 'Mali', "MM": 'Myanmar', "MN": 'Mongolia',
    "MO": 'Macao', "MP": 'Northern Mariana Islands', "MQ": 'Martinique', "MR": 'Mauritania', "MS": 'Montserrat',
    "MT": 'Malta', "MU": 'Mauritius', "MV": 'Maldives', "MW": 'Malawi', "MX": 'Mexico', "MY": 'Malaysia',
    "MZ": 'Mozambique', "NA": 'Namibia', "NC": 'New Caledonia', "NE": 'Niger', "NF": 'Norfolk Island',
    "NG": 'Nigeria', "NI": 'Nicaragua', "NL": 'Netherlands', "NO": 'Norway', "NP": 'Nepal', "NR": 'Nauru',
    "NU": 'Niue', "NZ": 'New Zealand', "OM": 'Oman', "PA": 'Panama', "PE": 'Peru', "PF": 'French Polynesia',
    "PG": 'Papua New Guinea', "PH": 'Philippines', "PK": 'Pakistan', "PL": 'Poland',
    "PM": 'Saint Pierre and Miquelon', "PN": 'Pitcairn', "PR": 'Puerto Rico', "PS": 'Palestine, State of',
    "PT": 'Portugal', "PW": 'Palau', "PY": 'Paraguay', "QA": 'Qatar', "RE": 'Réunion', "RO": 'Romania',
    "RS": 'Serbia', "RU": 'Russian Federation', "RW": 'Rwanda', "SA": 'Saudi Arabia', "SB": 'Solomon Islands',
    "SC": 'Seychelles', "SD": 'Sudan', "SE": 'Sweden', "SG": 'Singapore',
    "SH": 'Saint Helena, Ascension and Tristan da Cunha', "SI": 'Slovenia', "SJ": 'Svalbard and Jan Mayen',
    "SK": 'Slovakia', "SL": 'Sierra Leone', "SM": 'San Marino', "SN": 'Senegal', "SO": 'Somalia', "SR": 'Suriname',
    "SS": 'South Sudan', "ST": 'Sao Tome and Principe', "SV": 'El Salvador', "SX": 'Sint Maarten (Dutch part)',
    "SY": 'Syria', "SZ": 'Eswatini', "TC": 'Turks and Caicos Islands', "TD": 'Chad',
    "TF": 'French Southern Territories', "TG": 'Togo', "TH": 'Thailand', "TJ": 'Tajikistan', "TK": 'Tokelau',
    "TL": 'Timor-Leste', "TM": 'Turkmenistan', "TN": 'Tunisia', "TO": 'Tonga', "TR": 'Türkiye',
    "TT": 'Trinidad and Tobago', "TV": 'Tuvalu', "TW": 'Taiwan', "TZ": 'Tanzania', "UA": 'Ukraine', "UG": 'Uganda',
    "UM": 'United States Minor Outlying Islands', "US": 'United States', "UY": 'Uruguay', "UZ": 'Uzbekistan',
    "VA": 'Holy See (Vatican City State)', "VC": 'Saint Vincent and the Grenadines', "VE": 'Venezuela',
    "VG": 'Virgin Islands, British', "VI": 'Virgin Islands, U.S.', "VN": 'Vietnam', "VU": 'Vanuatu',
    "WF": 'Wallis and Futuna', "WS": 'Samoa', "YE": 'Yemen', "YT": 'Mayotte', "ZA": 'South Africa', "ZM": 'Zambia',
    "ZW": 'Zimbabwe',
}

#: The highest AS number (32-bit ASNs, RFC 6793); 0 is reserved (RFC 7607) and never an origin.
MAX_ASN = 4_294_967_295


def is_country_code(value: Any) -> bool:
    """Whether ``value`` is an assigned ISO 3166-1 alpha-2 code, upper case (as stored in records)."""
    return type(value) is str and value in COUNTRIES


def is_asn(value: Any) -> bool:
    """Whether ``value`` is an AS number 1..4294967295 (an int, not a bool)."""
    return type(value) is int and 1 <= value <= MAX_ASN


def country_code(text: str) -> str | None:
    """The code ``text`` names (``ru``, `` RU ``), or None if it is not an assigned alpha-2 code."""
    code = text.strip().upper()
    return code if code in COUNTRIES else None


def asn_number(value: Any) -> int | None:
    """The AS number ``value`` gives (``64500``, ``"64500"``, ``"AS64500"``, ``"as 64500"``), or None if it is not
    one in 1..4294967295."""
    if type(value) is int:
        return value if is_asn(value) else None
    if not isinstance(value, str):
        return None
    text = value.strip().upper().removeprefix("AS").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    number = int(text)
    return number if is_asn(number) else None
