package domain

import "math"

// Rate is part/whole rounded to four decimals, and 0 when whole is not positive, so an
// empty report reads zeros and never NaN or Inf (JSON cannot carry them).
func Rate(part, whole int64) float64 {
	if whole <= 0 || part <= 0 {
		return 0
	}
	return math.Round(float64(part)/float64(whole)*10000) / 10000
}
