// Workfront's own Node client (npm `workfront-api` 6) against `jrnle-audit simulate`, used as
// its README and API docs show: count, a sorted search page by page, metadata, get by id.
// Prints one JSON object on stdout for tests/integration/clients.rs to check.
// Usage: node workfront_api_node.js URL API_KEY   (NODE_PATH names where the client is)
const Workfront = require('workfront-api')

async function main() {
    const [url, apiKey] = process.argv.slice(2)
    // The client's default version, 'internal', reaches /attask/api-internal.
    const api = new Workfront.NodeApi({url, apiKey})
    const count = await api.count('JRNLE', {})
    const rows = []
    for (let first = 0; ; first += 100) {
        const page = await api.search(
            'JRNLE',
            {entryDate_1_Sort: 'asc', ID_2_Sort: 'asc', $$FIRST: first, $$LIMIT: 100},
            ['*', 'editedBy:name'],
        )
        rows.push(...page)
        if (page.length < 100) break
    }
    const metadata = await api.metadata('JRNLE')
    const got = rows.length ? await api.get('JRNLE', rows[0].ID, ['fieldName']) : null
    let refused = null
    try {
        await new Workfront.NodeApi({url, apiKey: 'not-the-key'}).count('JRNLE', {})
    } catch (e) {
        refused = e
    }
    process.stdout.write(
        JSON.stringify({count, rows, metadata_fields: Object.keys(metadata.fields), got, refused}),
    )
}

main().catch((e) => {
    console.error(JSON.stringify(e))
    process.exit(1)
})
