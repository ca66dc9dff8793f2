package domain

import (
	"errors"
	"math/big"
	"strconv"
	"strings"
)

// Multiplier bounds in thousandths (0.1 – 10) and the default (1.0).
const (
	MinMultiplierMilli     = 100
	MaxMultiplierMilli     = 10000
	DefaultMultiplierMilli = 1000
	// MaxBasePrice keeps base × multiplier far from int64 overflow (10^12 minor units).
	MaxBasePrice = int64(1_000_000_000_000)
)

// ParseMultiplier reads a JSON number's text ("1.5", "2", "1.25e0") exactly into
// thousandths, so 1.005 is 1005 and never 1004.999…; more precision than 0.001 is refused
// rather than silently rounded. Absurd texts (huge exponents or digit runs) are refused
// before any arithmetic, so outside input cannot make the parser allocate without bound.
func ParseMultiplier(text string) (int64, error) {
	text = strings.TrimSpace(text)
	mant, exp := text, 0
	if i := strings.IndexAny(text, "eE"); i >= 0 {
		mant = text[:i]
		e, err := strconv.Atoi(strings.TrimPrefix(text[i+1:], "+"))
		if err != nil {
			return 0, errors.New("must be a number")
		}
		if e < -30 || e > 30 {
			return 0, errors.New("must be between 0.1 and 10")
		}
		exp = e
	}
	if mant == "" || len(mant) > 40 || strings.ContainsAny(mant, "/eE+") {
		return 0, errors.New("must be a number with at most 3 decimal places")
	}
	r, ok := new(big.Rat).SetString(mant)
	if !ok {
		return 0, errors.New("must be a number")
	}
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(exp))), nil)
	if exp >= 0 {
		r.Mul(r, new(big.Rat).SetInt(scale))
	} else {
		r.Quo(r, new(big.Rat).SetInt(scale))
	}
	r.Mul(r, big.NewRat(1000, 1))
	if r.Sign() > 0 && r.Cmp(big.NewRat(MaxMultiplierMilli, 1)) > 0 || r.Cmp(big.NewRat(MinMultiplierMilli, 1)) < 0 {
		return 0, errors.New("must be between 0.1 and 10")
	}
	if !r.IsInt() {
		return 0, errors.New("must have at most 3 decimal places")
	}
	return r.Num().Int64(), nil
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// SectionPrice is base × milli/1000 rounded half up to a whole minor unit, in integers.
func SectionPrice(base, milli int64) int64 {
	return (base*milli + 500) / 1000
}

// FormatMultiplier renders thousandths back as the shortest decimal ("1.5", "2", "1.25").
func FormatMultiplier(milli int64) string {
	r := big.NewRat(milli, 1000)
	s := r.FloatString(3)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
