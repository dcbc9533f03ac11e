package visibility_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"

	"github.com/outreach-engine/outreach/internal/testenv"
	"github.com/outreach-engine/outreach/internal/visibility"
)

func TestRegisterIsIdempotent(t *testing.T) {
	t.Parallel()
	c := testenv.BareTemporalServer(t).Client()
	ctx := context.Background()

	added, err := visibility.Register(ctx, c, "default")
	require.NoError(t, err)
	assert.Equal(t, []string{"CustomerId", "JourneyName", "JourneyStep", "JourneyVersion", "LastChannel", "Outcome"}, added)

	list, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
	require.NoError(t, err)
	assert.Equal(t, enums.INDEXED_VALUE_TYPE_KEYWORD, list.CustomAttributes["CustomerId"])
	assert.Equal(t, enums.INDEXED_VALUE_TYPE_INT, list.CustomAttributes["JourneyVersion"])

	added, err = visibility.Register(ctx, c, "default")
	require.NoError(t, err)
	assert.Empty(t, added, "a second run changes nothing")
}

func TestRegisterRefusesAttributeOfAnotherType(t *testing.T) {
	t.Parallel()
	c := testenv.BareTemporalServer(t).Client()
	ctx := context.Background()
	_, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        "default",
		SearchAttributes: map[string]enums.IndexedValueType{"Outcome": enums.INDEXED_VALUE_TYPE_TEXT},
	})
	require.NoError(t, err)
	_, err = visibility.Register(ctx, c, "default")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Outcome is Text, want Keyword")
}

// The dev scripts start the dev server with these flags; they must name the
// same attributes and types as the Go list, or journeys fail on that server.
func TestDevScriptRegistersEveryAttribute(t *testing.T) {
	lib, err := os.ReadFile(filepath.Join("..", "..", "deploy", "dev", "lib.sh"))
	require.NoError(t, err)
	flags := visibility.DevServerFlags()
	require.Len(t, flags, 12)
	for i := 0; i < len(flags); i += 2 {
		assert.Equal(t, "--search-attribute", flags[i])
		assert.Contains(t, string(lib), "--search-attribute "+flags[i+1]+"\n", "lib.sh lacks %s", flags[i+1])
	}
	assert.Equal(t, len(flags)/2, strings.Count(string(lib), "  --search-attribute "), "lib.sh registers an attribute the Go list does not have")
}
