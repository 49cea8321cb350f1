"""Reference data: priorities, subregions, countries, offices, tags, standard indicators, periods, donors."""
