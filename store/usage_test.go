package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
)

func TestAPIUsage(t *testing.T) {
	t.Parallel()
	runOnEveryBackend(t, map[string]func(t *testing.T, st *store.Store){
		"CountsPerDayAndLabelAndNeverGoesDown": func(t *testing.T, st *store.Store) {
			ctx := context.Background()
			day := store.APIDay(t0)
			require.Equal(t, "2026-11-23", day)
			got, err := st.APIUsage(ctx, day)
			require.NoError(t, err)
			require.Empty(t, got)
			require.NoError(t, st.SaveAPIUsage(ctx, day, map[string]int64{"Heavy": 120, "Light": 900}))
			require.NoError(t, st.SaveAPIUsage(ctx, day, map[string]int64{"Heavy": 100, "Resource-intensive": 7}))
			require.NoError(t, st.SaveAPIUsage(ctx, "2026-11-24", map[string]int64{"Heavy": 1}))
			got, err = st.APIUsage(ctx, day)
			require.NoError(t, err)
			require.Equal(t, map[string]int64{"Heavy": 120, "Light": 900, "Resource-intensive": 7}, got,
				"a replica or run that counted fewer never lowers the day's count")
		},
	})
}
