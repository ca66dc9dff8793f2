package domain

import (
	"strconv"
	"strings"
)

// zeroDecimal lists ISO 4217 currencies without minor units, so 1500 JPY is not "15.00".
var zeroDecimal = map[string]bool{"BIF": true, "CLP": true, "DJF": true, "GNF": true, "ISK": true, "JPY": true,
	"KMF": true, "KRW": true, "PYG": true, "RWF": true, "UGX": true, "UYI": true, "VND": true, "VUV": true,
	"XAF": true, "XOF": true, "XPF": true}

// threeDecimal lists ISO 4217 currencies with three minor-unit digits.
var threeDecimal = map[string]bool{"BHD": true, "IQD": true, "JOD": true, "KWD": true, "LYD": true, "OMR": true, "TND": true}

// FormatMoney renders an amount in minor units for people, e.g. 150000 INR → "1500.00 INR".
func FormatMoney(minor int64, currency string) string {
	cur := strings.ToUpper(currency)
	digits := 2
	switch {
	case zeroDecimal[cur]:
		digits = 0
	case threeDecimal[cur]:
		digits = 3
	}
	neg := minor < 0
	u := uint64(minor)
	if neg {
		u = uint64(-minor)
	}
	s := strconv.FormatUint(u, 10)
	if digits > 0 {
		for len(s) <= digits {
			s = "0" + s
		}
		s = s[:len(s)-digits] + "." + s[len(s)-digits:]
	}
	if neg {
		s = "-" + s
	}
	if cur == "" {
		return s
	}
	return s + " " + cur
}
