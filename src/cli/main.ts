// placeholder until the CLI lands
console.log('cell')
